//! The guide (`docs/guide/`) stays true to the code.
//!
//! The guide quotes code, program output, `strace` output and benchmark figures, and names
//! programs; all of them drift when the code changes. These tests check:
//!
//! - every Rust block that opens with a file name (`// examples/foo.rs`) is an excerpt of
//!   that file: its pieces, cut at `// ...` lines, appear in the file in order;
//! - every quoted program output preceded by an `output` marker is what the program
//!   prints, run here (markers below);
//! - every quoted `strace` excerpt preceded by a `strace` marker appears in the system
//!   calls of the session it describes, traced here (`strace_excerpts_match_a_session`,
//!   which `.ci/strace.sh` runs with strace installed and `EPOLL_RT_REQUIRE_STRACE=1`, so
//!   that there a missing or refused strace fails the test instead of skipping it);
//! - every table of figures preceded by a `figures` marker holds exactly the figures of
//!   the results file and run it names, which a script in `bench/` wrote;
//! - every `cargo run --example NAME` names an example that exists;
//! - every relative link points to a file that exists;
//! - the table of contents lists every chapter, and every guide example is listed;
//! - every chapter has an `## Exercises` section naming at least two solutions
//!   (`--example guide_exNN_...`), and every solution program is named by one.
//!
//! # Markers
//!
//! A marker is an HTML comment (invisible once the Markdown is rendered) on the lines
//! just before a fenced block or a table:
//!
//! ```text
//! <!-- output: PROGRAM [ARG ...] [stderr] [env NAME=VALUE] [session]
//! vary: TOKEN [TOKEN ...] = KIND [LOW..HIGH]
//! vary: durations
//! only: PREFIX
//! -->
//! ```
//!
//! - `output`: the ```` ```text ```` block that follows is everything `examples/PROGRAM`
//!   prints on standard output (`stderr`: on standard error), run with the arguments and
//!   environment given. Runs of spaces count as one space, so that a column that widens
//!   with its value still matches. The programs are the example binaries that `cargo
//!   test` builds next to this test; one missing, or older than its source, fails the test.
//! - `session` (with `PROGRAM` = `echo_server`): the program serves one client, which
//!   sends `hello\n`, reads the echo, waits 200 ms and closes; 300 ms later the server gets
//!   a `SIGINT` (Ctrl-C). That is the session chapter 10 describes. Once the server waits
//!   in `epoll_wait`, it is stopped (`SIGSTOP`) while the client connects and sends, so
//!   that the line is always there when it accepts (by hand, it almost always is).
//! - `vary: TOKEN ... = KIND [LOW..HIGH]`: each `TOKEN` (a whole word of the block, not a
//!   part of a longer number) stands for a value that changes from run to run; the
//!   program's output must have, at that place, a value of that `KIND` within the range
//!   (either bound, or the whole range, may be left out: timings on a busy machine are
//!   checked for their shape, and only for a bound the program itself guarantees, such
//!   as "no earlier than the timeout"). `KIND` is `int` (digits), `duration` (as Rust's
//!   `Debug` prints a `Duration`: `14.37µs`, `50.1ms`, `2s`; bounds written the same way)
//!   or `any` (any run of non-space characters).
//! - `vary: durations`: every duration-shaped word of the block varies (as `duration`,
//!   with no range): for traces, which stamp every line with a time.
//! - `only: PREFIX`: only the output lines that start with `PREFIX` are compared: for a
//!   trace interleaved with lines another thread prints at a moment of its own (a
//!   server's log thread), which the chapter says it leaves out.
//!
//! ```text
//! <!-- strace: echo_server 127.0.0.1:0 session [trace=SYSCALL,SYSCALL,...] -->
//! ```
//!
//! - `strace`: the block is a run of consecutive lines of `strace -f` (with `-e trace=...`
//!   if given) of the session, once both are normalized: the process id that `-f` puts
//!   before each line is dropped, and so are strace's notes of signals and exits
//!   (`--- SIGCONT ...`, `+++ exited ...`), the memory-management calls the allocator
//!   makes when it likes (`mmap`, `munmap`, `mprotect`, `madvise`, `brk`: a sanitizer's
//!   allocator makes many), runs of spaces, and the values that change
//!   between runs: port numbers (`htons(N)`), addresses (`0x...`) and the contents of
//!   strings strace cut short (`"..."...`).
//!
//! ```text
//! <!-- figures: bench/results/FILE.md "HEADING" -->
//! ```
//!
//! - `figures`: the Markdown table that follows quotes the section of `FILE.md` whose
//!   heading line starts with `## HEADING` (one run of a benchmark script): each of its
//!   columns is a column of a table in that section, with the same header, and each of
//!   its rows is a row of that table, every cell the same. Followed by a paragraph or a
//!   list instead (up to a blank line), each of its figures with a decimal point (`3.35`,
//!   `158.6`) must be a number of that section; without a `"HEADING"`, of the whole file.
mod util;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

/// The repository root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every chapter of the guide and its README, as (file name, text), sorted by name.
fn guide_files() -> Vec<(String, String)> {
    let dir = root().join("docs/guide");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("read a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .map(|path| {
            let name = path
                .file_name()
                .expect("a file has a name")
                .to_string_lossy()
                .into_owned();
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            (name, text)
        })
        .collect();
    files.sort();
    assert!(files.len() >= 2, "the guide has a README and chapters");
    files
}

/// The fenced code blocks of a Markdown text: (info string, body lines).
fn code_blocks(text: &str) -> Vec<(String, Vec<String>)> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, Vec<String>)> = None;
    for line in text.lines() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut current, fence) {
            (None, Some(info)) => current = Some((info.trim().to_owned(), Vec::new())),
            (Some(_), Some(_)) => blocks.extend(current.take()),
            (Some((_, body)), None) => body.push(line.to_owned()),
            (None, None) => {}
        }
    }
    assert!(current.is_none(), "a code block is not closed");
    blocks
}

/// Whether `pieces` (each a run of trimmed lines) occur in `file`, in order, each as
/// consecutive lines.
fn contains_in_order(file: &[&str], pieces: &[Vec<&str>]) -> Result<(), String> {
    let mut from = 0;
    for piece in pieces {
        let found = (from..=file.len().saturating_sub(piece.len()))
            .find(|&start| file[start..start + piece.len()] == piece[..]);
        match found {
            Some(start) => from = start + piece.len(),
            None => return Err(piece.join("\n")),
        }
    }
    Ok(())
}

#[test]
fn excerpts_match_their_files() {
    let mut checked = 0;
    for (chapter, text) in guide_files() {
        for (info, body) in code_blocks(&text) {
            if info != "rust" {
                continue;
            }
            let source = body
                .first()
                .and_then(|line| line.trim().strip_prefix("// "))
                .filter(|path| path.ends_with(".rs"))
                .unwrap_or_else(|| {
                    panic!("{chapter}: a rust block must open with `// path/to/file.rs`")
                });
            let path = root().join(source);
            let file = fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{chapter}: excerpt of {source}: {e}"));
            let file: Vec<&str> = file.lines().map(str::trim).collect();
            // Cut at `// ...` and drop blank lines at the cuts.
            let mut pieces = vec![Vec::new()];
            for line in &body[1..] {
                match line.trim() {
                    "// ..." => pieces.push(Vec::new()),
                    l => pieces.last_mut().expect("never empty").push(l),
                }
            }
            for piece in &mut pieces {
                while piece.first() == Some(&"") {
                    piece.remove(0);
                }
                while piece.last() == Some(&"") {
                    piece.pop();
                }
            }
            pieces.retain(|piece| !piece.is_empty());
            if let Err(missing) = contains_in_order(&file, &pieces) {
                panic!("{chapter}: this part of an excerpt is not in {source}:\n{missing}");
            }
            checked += 1;
        }
    }
    assert!(checked > 0, "no excerpt found");
}

#[test]
fn named_examples_exist() {
    let mut named = 0;
    for (chapter, text) in guide_files() {
        for (at, _) in text.match_indices("--example ") {
            let name: String = text[at + "--example ".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let file = root().join("examples").join(format!("{name}.rs"));
            let dir = root().join("examples").join(&name).join("main.rs");
            assert!(
                file.exists() || dir.exists(),
                "{chapter} runs `--example {name}`, which does not exist"
            );
            named += 1;
        }
    }
    assert!(named > 0, "no example named");
}

#[test]
fn relative_links_resolve() {
    let dir = root().join("docs/guide");
    for (chapter, text) in guide_files() {
        for (at, _) in text.match_indices("](") {
            let target: String = text[at + 2..].chars().take_while(|&c| c != ')').collect();
            if target.contains("://") || target.starts_with('#') {
                continue;
            }
            let path = target.split('#').next().unwrap_or_default();
            assert!(
                Path::new(&dir).join(path).exists(),
                "{chapter} links to {target}, which does not exist"
            );
        }
    }
}

#[test]
fn the_contents_list_every_chapter_and_program() {
    let files = guide_files();
    let (_, readme) = files
        .iter()
        .find(|(name, _)| name == "README.md")
        .expect("docs/guide/README.md exists");
    for (name, _) in &files {
        if name != "README.md" {
            assert!(
                readme.contains(&format!("]({name})")),
                "docs/guide/README.md does not link {name}"
            );
        }
    }
    let examples = root().join("examples");
    for entry in fs::read_dir(&examples).expect("read examples/") {
        let name = entry.expect("read a directory entry").file_name();
        let name = name.to_string_lossy();
        if name.starts_with("guide_ch") {
            assert!(
                readme.contains(&format!("examples/{name}")),
                "docs/guide/README.md does not list examples/{name}"
            );
        }
    }
}

#[test]
fn every_chapter_has_exercises_with_solutions() {
    let files = guide_files();
    let chapters: Vec<_> = files
        .iter()
        .filter_map(|(name, text)| Some((name.split('-').next()?.parse::<u32>().ok()?, name, text)))
        .collect();
    assert!(!chapters.is_empty(), "no numbered chapter found");
    for (number, name, text) in chapters {
        let exercises = text
            .split("\n## Exercises\n")
            .nth(1)
            .unwrap_or_else(|| panic!("{name} has no `## Exercises` section"));
        // Each solution is named `guide_exNN_M_...` after its chapter, and exists (the
        // `--example` check above).
        let prefix = format!("--example guide_ex{number:02}_");
        let solutions = exercises.matches(&prefix).count();
        assert!(
            solutions >= 2,
            "{name}: {solutions} exercise solution(s) named, at least 2 wanted"
        );
    }
    // And every solution program is named by its chapter.
    let named: String = files.iter().map(|(_, text)| text.as_str()).collect();
    for entry in fs::read_dir(root().join("examples")).expect("read examples/") {
        let name = entry.expect("read a directory entry").file_name();
        let name = name.to_string_lossy();
        if let Some(stem) = name.strip_prefix("guide_ex").and(name.strip_suffix(".rs")) {
            assert!(
                named.contains(&format!("--example {stem}")),
                "examples/{name} is the solution of no exercise in the guide"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Markers: quoted output, strace excerpts and figures.
// ---------------------------------------------------------------------------------------

/// One marker and what follows it: the fenced block's lines, or the table's.
#[derive(Debug)]
struct Marker {
    /// The chapter's file name, for messages.
    chapter: String,
    /// `output`, `strace` or `figures`.
    kind: String,
    /// The words after `kind:` on the marker's first line.
    args: Vec<String>,
    /// The marker's `vary:` lines, without the `vary:`.
    vary: Vec<String>,
    /// The marker's `only:` prefix, if any: output lines without it are not compared.
    only: Option<String>,
    /// The quoted lines: the block's body, or the table's rows (header and rule included).
    quoted: Vec<String>,
}

/// Every marker of the guide.
fn markers() -> Vec<Marker> {
    let mut found = Vec::new();
    for (chapter, text) in guide_files() {
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let Some(rest) = lines[i].strip_prefix("<!-- ") else {
                i += 1;
                continue;
            };
            let Some((kind, first)) = rest.split_once(':') else {
                i += 1;
                continue;
            };
            if !matches!(kind, "output" | "strace" | "figures") {
                i += 1;
                continue;
            }
            // The marker's lines, up to `-->`.
            let mut words = first.trim().trim_end_matches("-->").trim().to_owned();
            let mut vary = Vec::new();
            let mut only = None;
            let mut end = i;
            while !lines[end].trim_end().ends_with("-->") {
                end += 1;
                let line = lines.get(end).unwrap_or_else(|| {
                    panic!("{chapter}: a `{kind}` marker is not closed with `-->`")
                });
                let line = line.trim().trim_end_matches("-->").trim();
                if let Some(prefix) = line.strip_prefix("only:") {
                    only = Some(prefix.trim().to_owned());
                    continue;
                }
                match line.strip_prefix("vary:") {
                    Some(v) => vary.push(v.trim().to_owned()),
                    None if line.is_empty() => {}
                    None => {
                        words.push(' ');
                        words.push_str(line);
                    }
                }
            }
            // What the marker is about: the next non-blank lines.
            let mut j = end + 1;
            while lines.get(j).is_some_and(|l| l.trim().is_empty()) {
                j += 1;
            }
            let mut quoted = Vec::new();
            if kind == "figures" {
                // A table, or a paragraph (or list) up to the next blank line.
                let table = lines.get(j).is_some_and(|l| l.starts_with('|'));
                while let Some(line) = lines.get(j).filter(|l| {
                    if table {
                        l.starts_with('|')
                    } else {
                        !l.trim().is_empty()
                    }
                }) {
                    quoted.push((*line).to_owned());
                    j += 1;
                }
                assert!(
                    !table || quoted.len() > 2,
                    "{chapter}: a `figures` marker's table has no rows"
                );
                assert!(
                    !quoted.is_empty(),
                    "{chapter}: a `figures` marker quotes nothing"
                );
            } else {
                assert_eq!(
                    lines.get(j).map(|l| l.trim()),
                    Some("```text"),
                    "{chapter}: a `{kind}` marker must be followed by a ```text block"
                );
                j += 1;
                while let Some(line) = lines.get(j).filter(|l| l.trim() != "```") {
                    quoted.push((*line).to_owned());
                    j += 1;
                }
            }
            found.push(Marker {
                chapter: chapter.clone(),
                kind: kind.to_owned(),
                args: split_args(&words),
                vary,
                only,
                quoted,
            });
            i = j;
        }
    }
    found
}

/// `words` split at spaces, except inside double quotes (which are removed).
fn split_args(words: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in words.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    args.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        args.push(current);
    }
    args
}

/// What a varying value may be.
#[derive(Clone, Debug)]
enum Kind {
    /// Digits, within a range.
    Int(Option<u64>, Option<u64>),
    /// A `Duration` as `Debug` prints it, within a range.
    Duration(Option<Duration>, Option<Duration>),
    /// Any run of non-space characters.
    Any,
}

/// A duration as `Duration`'s `Debug` prints it: `540ns`, `14.37µs`, `50.1ms`, `2s`.
fn parse_duration(text: &str) -> Option<Duration> {
    let (number, scale) = [("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0)]
        .iter()
        .find_map(|&(unit, scale)| Some((text.strip_suffix(unit)?, scale)))?;
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    Some(Duration::from_secs_f64(number.parse::<f64>().ok()? * scale))
}

impl Kind {
    /// The kind a `vary:` line gives: `int 1..`, `duration ..5ms`, `any`.
    fn parse(spec: &str) -> Kind {
        let (name, range) = spec.split_once(' ').unwrap_or((spec, ".."));
        let (low, high) = range
            .trim()
            .split_once("..")
            .unwrap_or_else(|| panic!("a range is LOW..HIGH: {spec}"));
        let bound = |b: &str| (!b.is_empty()).then(|| b.to_owned());
        let (low, high) = (bound(low), bound(high));
        match name {
            "int" => Kind::Int(
                low.map(|b| b.parse().expect("an integer bound")),
                high.map(|b| b.parse().expect("an integer bound")),
            ),
            "duration" => Kind::Duration(
                low.map(|b| parse_duration(&b).expect("a duration bound")),
                high.map(|b| parse_duration(&b).expect("a duration bound")),
            ),
            "any" => Kind::Any,
            other => panic!("unknown kind `{other}` in `vary: ... = {spec}`"),
        }
    }

    /// Whether `value` has this kind's shape and lies in its range.
    fn accepts(&self, value: &str) -> bool {
        fn within<T: PartialOrd>(v: T, low: &Option<T>, high: &Option<T>) -> bool {
            low.as_ref().is_none_or(|l| v >= *l) && high.as_ref().is_none_or(|h| v <= *h)
        }
        match self {
            Kind::Int(low, high) => {
                !value.is_empty()
                    && value.chars().all(|c| c.is_ascii_digit())
                    && value.parse().is_ok_and(|v: u64| within(v, low, high))
            }
            Kind::Duration(low, high) => {
                parse_duration(value).is_some_and(|v| within(v, low, high))
            }
            Kind::Any => !value.is_empty() && !value.contains(' '),
        }
    }
}

/// One piece of a quoted line: text that must be printed as is, or a varying value.
#[derive(Debug)]
enum Piece {
    /// Literal text.
    Text(String),
    /// A value of this kind.
    Hole(Kind),
}

/// `line` with runs of spaces made one space, and no space at either end.
fn squeeze(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `c` may continue a number (so that a token is not a part of a longer one).
fn numeric(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_digit() || c == '.')
}

/// The words of `line` shaped like a duration.
fn duration_words(line: &str) -> Vec<String> {
    line.split(|c: char| c.is_whitespace() || "()[],".contains(c))
        .filter(|w| parse_duration(w).is_some())
        .map(str::to_owned)
        .collect()
}

/// `line`, cut into text and holes at the tokens of `vary`.
fn pieces(line: &str, vary: &[(String, Kind)]) -> Vec<Piece> {
    let line = squeeze(line);
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut at = 0;
    'scan: while at < line.len() {
        let before = line[..at].chars().next_back();
        for (token, kind) in vary {
            let after = line[at..]
                .strip_prefix(token.as_str())
                .map(|r| r.chars().next());
            if let Some(after) = after {
                if !numeric(before) && !numeric(after) {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                    pieces.push(Piece::Hole(kind.clone()));
                    at += token.len();
                    continue 'scan;
                }
            }
        }
        let c = line[at..].chars().next().expect("at < len");
        text.push(c);
        at += c.len_utf8();
    }
    pieces.push(Piece::Text(text));
    pieces
}

/// Whether `printed` matches `pieces`, each hole taking a value its kind accepts.
fn matches(pieces: &[Piece], printed: &str) -> bool {
    match pieces.split_first() {
        None => printed.is_empty(),
        Some((Piece::Text(text), rest)) => printed
            .strip_prefix(text.as_str())
            .is_some_and(|printed| matches(rest, printed)),
        Some((Piece::Hole(kind), rest)) => {
            // Try every split, shortest value first.
            let mut ends: Vec<usize> = printed.char_indices().map(|(i, _)| i).skip(1).collect();
            ends.push(printed.len());
            ends.into_iter()
                .any(|end| kind.accepts(&printed[..end]) && matches(rest, &printed[end..]))
        }
    }
}

/// The `vary:` lines of a marker as (token, kind), longest token first, with `durations`
/// expanded to the duration-shaped words of `quoted`.
fn vary_tokens(marker: &Marker) -> Vec<(String, Kind)> {
    let mut tokens = Vec::new();
    for line in &marker.vary {
        if line == "durations" {
            for quoted in &marker.quoted {
                for word in duration_words(quoted) {
                    tokens.push((word, Kind::Duration(None, None)));
                }
            }
            continue;
        }
        let (words, spec) = line
            .rsplit_once(" = ")
            .unwrap_or_else(|| panic!("{}: `vary: TOKEN ... = KIND`: {line}", marker.chapter));
        let kind = Kind::parse(spec.trim());
        for word in words.split_whitespace() {
            tokens.push((word.to_owned(), kind.clone()));
        }
    }
    tokens.sort_by_key(|(token, _)| std::cmp::Reverse(token.len()));
    tokens
}

/// Checks `printed` (the program's lines) against the quoted lines of `marker`.
fn check_output(marker: &Marker, printed: &str) {
    let vary = vary_tokens(marker);
    let quoted: Vec<&String> = marker.quoted.iter().collect();
    let printed: Vec<String> = printed
        .lines()
        .filter(|line| {
            marker
                .only
                .as_ref()
                .is_none_or(|p| line.starts_with(p.as_str()))
        })
        .map(squeeze)
        .collect();
    // Blank lines at the end of the output are not quoted.
    let mut printed: &[String] = &printed;
    while printed.last().is_some_and(String::is_empty) {
        printed = &printed[..printed.len() - 1];
    }
    let context = || {
        format!(
            "{}: the quoted output of `{}` is no longer what it prints.\nprinted:\n{}\nquoted:\n{}",
            marker.chapter,
            marker.args.join(" "),
            printed.join("\n"),
            marker.quoted.join("\n")
        )
    };
    assert_eq!(
        quoted.len(),
        printed.len(),
        "{}\n(line counts differ)",
        context()
    );
    for (n, (quoted, printed)) in quoted.iter().zip(printed).enumerate() {
        assert!(
            matches(&pieces(quoted, &vary), printed),
            "{}\n(line {} differs: {printed:?})",
            context(),
            n + 1
        );
    }
}

/// The binary of `examples/NAME`, as `cargo test` built it next to this test. Missing,
/// or older than its source or the library's, it fails the test: quoting a stale build
/// would check nothing.
fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is in <target>/<profile>/deps");
    let binary = dir.join("examples").join(name);
    let built = fs::metadata(&binary)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; build the examples first (`cargo test` does, `cargo test --test guide` \
             alone does not: run `cargo build --examples`)",
                binary.display()
            )
        });
    // The sources the binary was built from, as cargo listed them beside it (the lib's
    // test-only files are not among them); the example and all of `src/` without the list.
    let listed = fs::read_to_string(dir.join("examples").join(format!("{name}.d")));
    let sources: Vec<PathBuf> = match listed {
        Ok(deps) => deps
            .split_once(": ")
            .map(|(_, deps)| deps.split_whitespace().map(PathBuf::from).collect())
            .unwrap_or_default(),
        Err(_) => {
            let mut sources = vec![root().join("examples").join(format!("{name}.rs"))];
            let mut dirs = vec![root().join("src")];
            while let Some(dir) = dirs.pop() {
                for entry in fs::read_dir(&dir).expect("read a source directory") {
                    let path = entry.expect("read a directory entry").path();
                    if path.is_dir() {
                        dirs.push(path);
                    } else {
                        sources.push(path);
                    }
                }
            }
            sources
        }
    };
    let newest = sources
        .iter()
        .filter_map(|p| fs::metadata(p).and_then(|m| m.modified()).ok())
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    assert!(
        built >= newest,
        "{} is older than its sources: rebuild it (`cargo build --examples`)",
        binary.display()
    );
    binary
}

/// How a marker asks to run its program.
struct Run {
    /// The example's name.
    program: String,
    /// Its arguments.
    args: Vec<String>,
    /// Environment variables to set.
    env: Vec<(String, String)>,
    /// Whether the quoted block is standard error, not standard output.
    stderr: bool,
    /// Whether to drive the echo session (see the module docs).
    session: bool,
    /// For `strace`: the `-e trace=` list, if any.
    trace: Option<String>,
}

impl Run {
    /// The run a marker's words describe.
    fn parse(marker: &Marker) -> Run {
        let mut words = marker.args.iter();
        let program = words.next().expect("a marker names its program").clone();
        let mut run = Run {
            program,
            args: Vec::new(),
            env: Vec::new(),
            stderr: false,
            session: false,
            trace: None,
        };
        while let Some(word) = words.next() {
            match word.as_str() {
                "stderr" => run.stderr = true,
                "session" => run.session = true,
                "env" => {
                    let pair = words.next().expect("`env NAME=VALUE`");
                    let (k, v) = pair.split_once('=').expect("`env NAME=VALUE`");
                    run.env.push((k.to_owned(), v.to_owned()));
                }
                w => match w.strip_prefix("trace=") {
                    Some(list) => run.trace = Some(list.to_owned()),
                    None => run.args.push(w.to_owned()),
                },
            }
        }
        run
    }

    /// The command, before any wrapper: the example with its arguments and environment.
    fn command(&self, wrapper: Option<Vec<String>>) -> Command {
        let binary = example_binary(&self.program);
        let mut command = match wrapper {
            Some(wrapper) => {
                let mut command = Command::new(&wrapper[0]);
                command.args(&wrapper[1..]).arg(&binary);
                command
            }
            None => Command::new(&binary),
        };
        command
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }
}

/// Runs `command` to its end, under a watchdog; returns (stdout, stderr).
fn run_to_end(mut command: Command) -> (String, String) {
    let output = util::watchdog(Duration::from_secs(60), move || {
        command.output().expect("run a guide program")
    });
    assert!(output.status.success(), "{output:?}");
    let text = |b: Vec<u8>| String::from_utf8(b).expect("utf-8 output");
    (text(output.stdout), text(output.stderr))
}

/// Drives the echo session of the module docs against `command` (the echo server,
/// perhaps under strace), whose tracee's process id `pid` finds once it listens; returns
/// (stdout, stderr).
fn echo_session(
    mut command: Command,
    pid: impl Fn(u32) -> u32 + Send + 'static,
) -> (String, String) {
    util::watchdog(Duration::from_secs(60), move || {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the echo server");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut first = String::new();
        stdout
            .read_line(&mut first)
            .expect("read the server's first line");
        let Some(addr) = first
            .trim()
            .strip_prefix("listening on ")
            .map(str::to_owned)
        else {
            let mut stderr = String::new();
            let _ = child.kill();
            let _ = child
                .stderr
                .take()
                .expect("piped stderr")
                .read_to_string(&mut stderr);
            panic!("the echo server printed no address ({first:?}):\n{stderr}");
        };
        // Once the server sleeps in `epoll_wait` (bounded: 10 s), it is stopped while the
        // client connects and sends: it cannot accept before the line is there, so its
        // first read always finds it, as in the session the guide shows.
        let target = pid(child.id());
        let wchan = format!("/proc/{target}/wchan");
        for _ in 0..1000 {
            if fs::read_to_string(&wchan).is_ok_and(|w| w.contains("epoll")) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        signal(target, "-STOP");
        let mut client = TcpStream::connect(&addr).expect("connect to the echo server");
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set a timeout");
        client.write_all(b"hello\n").expect("send");
        signal(target, "-CONT");
        let mut echo = [0; 6];
        client.read_exact(&mut echo).expect("read the echo");
        assert_eq!(&echo, b"hello\n");
        std::thread::sleep(Duration::from_millis(200));
        drop(client);
        std::thread::sleep(Duration::from_millis(300));
        signal(target, "-INT");
        let mut rest = String::new();
        stdout
            .read_to_string(&mut rest)
            .expect("read the server's output");
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .expect("piped stderr")
            .read_to_string(&mut stderr)
            .expect("read the server's errors");
        let status = child.wait().expect("wait for the echo server");
        assert!(
            status.success(),
            "the echo server failed: {status}\n{stderr}"
        );
        (first + &rest, stderr)
    })
}

/// Sends a signal (`-STOP`, `-CONT`, `-INT`) to process `pid`.
fn signal(pid: u32, which: &str) {
    let status = Command::new("kill")
        .args([which, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {which} {pid}");
}

#[test]
fn quoted_output_matches_the_programs() {
    let mut checked = 0;
    for marker in markers().iter().filter(|m| m.kind == "output") {
        let run = Run::parse(marker);
        let (stdout, stderr) = if run.session {
            echo_session(run.command(None), |pid| pid)
        } else {
            run_to_end(run.command(None))
        };
        check_output(marker, if run.stderr { &stderr } else { &stdout });
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} quoted outputs found");
}

/// `line` of strace output with what changes between runs taken out (see the module docs).
fn normalize_strace(line: &str) -> String {
    // The process id `-f` puts first.
    let line = line.trim();
    let line = match line.split_once(' ') {
        Some((pid, rest)) if pid.chars().all(|c| c.is_ascii_digit()) => rest.trim_start(),
        _ => line,
    };
    let squeezed = squeeze(line);
    let mut out = String::new();
    let mut rest = squeezed.as_str();
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("htons(") {
            let digits = after.chars().take_while(char::is_ascii_digit).count();
            out.push_str("htons(N");
            rest = &after[digits..];
        } else if let Some(after) = rest.strip_prefix("0x") {
            let digits = after.chars().take_while(char::is_ascii_hexdigit).count();
            out.push_str("0xN");
            rest = &after[digits..];
        } else if c == '"' {
            // A string: kept, unless strace cut it short (`"..."...`).
            let mut end = 1;
            let bytes = rest.as_bytes();
            while end < bytes.len() && bytes[end] != b'"' {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            let string = &rest[..(end + 1).min(rest.len())];
            rest = &rest[string.len()..];
            if let Some(after) = rest.strip_prefix("...") {
                out.push_str("\"…\"...");
                rest = after;
            } else {
                out.push_str(string);
            }
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Memory-management system calls, which the allocator makes when it likes (a
/// sanitizer's, many): left out of the traced session, as none is quoted.
const MEMORY_CALLS: [&str; 5] = ["mmap(", "munmap(", "mprotect(", "madvise(", "brk("];

/// Whether strace can trace here: installed, and allowed to (`ptrace` may be refused in
/// a container).
fn strace_works() -> bool {
    Command::new("strace")
        .args(["-o", "/dev/null", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn strace_excerpts_match_a_session() {
    let excerpts: Vec<Marker> = markers()
        .into_iter()
        .filter(|m| m.kind == "strace")
        .collect();
    assert!(
        excerpts.len() >= 2,
        "only {} strace excerpts found",
        excerpts.len()
    );
    if !strace_works() {
        assert!(
            std::env::var_os("EPOLL_RT_REQUIRE_STRACE").is_none(),
            "EPOLL_RT_REQUIRE_STRACE is set, but strace is missing or cannot trace"
        );
        eprintln!("strace is missing or cannot trace: strace excerpts NOT checked");
        return;
    }
    for marker in &excerpts {
        let run = Run::parse(marker);
        assert!(
            run.session,
            "{}: strace excerpts are of a session",
            marker.chapter
        );
        let log = std::env::temp_dir().join(format!(
            "epoll-rt-guide-strace-{}-{}.log",
            std::process::id(),
            marker.chapter
        ));
        let log_path = log.to_str().expect("a utf-8 temp path").to_owned();
        let mut wrapper = vec![
            "strace".to_owned(),
            "-f".to_owned(),
            "-o".to_owned(),
            log_path,
        ];
        if let Some(list) = &run.trace {
            wrapper.extend(["-e".to_owned(), format!("trace={list}")]);
        }
        // The server is strace's child: its pid starts the log's first line.
        let tracee = {
            let log = log.clone();
            move |_strace: u32| {
                let text = fs::read_to_string(&log).expect("read the strace log");
                let first = text.split_whitespace().next().expect("a traced line");
                first
                    .parse()
                    .expect("strace -f starts each line with a pid")
            }
        };
        let mut command = run.command(Some(wrapper));
        // LeakSanitizer cannot work under ptrace: in a sanitized build (`.ci/sanitize.sh`)
        // the traced server would fail at exit. Elsewhere the variable is ignored.
        let asan = std::env::var("ASAN_OPTIONS").unwrap_or_default();
        command.env("ASAN_OPTIONS", format!("{asan}:detect_leaks=0"));
        echo_session(command, tracee);
        let traced = fs::read_to_string(&log).expect("read the strace log");
        let _ = fs::remove_file(&log);
        // Signals (`--- SIGCONT ... ---`) and exits (`+++ exited ... +++`) are strace's
        // notes, not system calls; where the session's signals fall varies.
        let traced: Vec<String> = traced
            .lines()
            .map(normalize_strace)
            .filter(|l| !l.starts_with("---") && !l.starts_with("+++"))
            .filter(|l| !MEMORY_CALLS.iter().any(|call| l.starts_with(call)))
            .collect();
        let quoted: Vec<String> = marker.quoted.iter().map(|l| normalize_strace(l)).collect();
        let found = traced.windows(quoted.len()).any(|w| w == &quoted[..]);
        assert!(
            found,
            "{}: the strace excerpt is not a run of the session's system calls.\nquoted \
             (normalized):\n{}\ntraced (normalized):\n{}",
            marker.chapter,
            quoted.join("\n"),
            traced.join("\n")
        );
    }
}

/// The cells of a Markdown table row.
fn cells(row: &str) -> Vec<String> {
    row.trim()
        .trim_start_matches('|')
        .trim_end_matches('|')
        .split('|')
        .map(|c| c.trim().to_owned())
        .collect()
}

#[test]
fn figures_match_their_results_files() {
    let mut checked = 0;
    for marker in markers().iter().filter(|m| m.kind == "figures") {
        let (file, heading) = match &marker.args[..] {
            [file] => (file, None),
            [file, heading] => (file, Some(heading)),
            _ => panic!(
                "{}: `figures: FILE [\"HEADING\"]`: {:?}",
                marker.chapter, marker.args
            ),
        };
        let text = fs::read_to_string(root().join(file))
            .unwrap_or_else(|e| panic!("{}: {file}: {e}", marker.chapter));
        // The run's section: from its heading to the next one (no heading: the file).
        let lines: Vec<&str> = text.lines().collect();
        let (start, end) = match heading {
            None => (0, lines.len()),
            Some(heading) => {
                let start = lines
                    .iter()
                    .position(|l| l.starts_with(&format!("## {heading}")))
                    .unwrap_or_else(|| panic!("{}: no `## {heading}` in {file}", marker.chapter));
                let end = lines[start + 1..]
                    .iter()
                    .position(|l| l.starts_with("## "))
                    .map_or(lines.len(), |n| start + 1 + n);
                (start, end)
            }
        };
        let heading = heading.map_or(String::new(), |h| format!(", `## {h}`"));
        if !marker.quoted[0].starts_with('|') {
            // Prose: each figure with a decimal point is a number of the section.
            let numbers = |text: &str| -> Vec<String> {
                text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
                    .map(|w| w.trim_matches(|c| c == '.' || c == ',').replace(',', ""))
                    .filter(|w| w.contains('.') && w.parse::<f64>().is_ok())
                    .collect()
            };
            let section = numbers(&lines[start..end].join("\n"));
            let figures = numbers(&marker.quoted.join("\n"));
            assert!(
                !figures.is_empty(),
                "{}: no figure after a marker",
                marker.chapter
            );
            for figure in figures {
                assert!(
                    section.contains(&figure),
                    "{}: the figure {figure} is not in {file}{heading}",
                    marker.chapter
                );
                checked += 1;
            }
            continue;
        }
        // Its tables, as (header, rows).
        let mut tables: Vec<(Vec<String>, Vec<Vec<String>>)> = Vec::new();
        let mut in_table = false;
        for line in &lines[start..end] {
            if !line.starts_with('|') {
                in_table = false;
            } else if !in_table {
                tables.push((cells(line), Vec::new()));
                in_table = true;
            } else if !line.starts_with("|--") && !line.starts_with("|:") {
                tables.last_mut().expect("a table").1.push(cells(line));
            }
        }
        let header = cells(&marker.quoted[0]);
        let (results_header, rows) = tables
            .iter()
            .find(|(h, _)| header.iter().all(|c| h.contains(c)))
            .unwrap_or_else(|| {
                panic!(
                    "{}: no table in {file}{heading} has the columns {header:?}",
                    marker.chapter
                )
            });
        let column: Vec<usize> = header
            .iter()
            .map(|c| {
                results_header
                    .iter()
                    .position(|h| h == c)
                    .expect("found above")
            })
            .collect();
        for row in &marker.quoted[2..] {
            let quoted = cells(row);
            let found = rows.iter().any(|r| {
                column
                    .iter()
                    .zip(&quoted)
                    .all(|(&i, q)| r.get(i) == Some(q))
            });
            assert!(
                found,
                "{}: this row is not in {file}{heading}:\n{row}",
                marker.chapter
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no figures found");
}
