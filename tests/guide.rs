//! The guide (`docs/guide/`) stays true to the code.
//!
//! The guide quotes code and names programs; both drift when the code changes. These
//! tests read the Markdown and check, without running anything:
//!
//! - every Rust block that opens with a file name (`// examples/foo.rs`) is an excerpt of
//!   that file: its pieces, cut at `// ...` lines, appear in the file in order;
//! - every `cargo run --example NAME` names an example that exists;
//! - every relative link points to a file that exists;
//! - the table of contents lists every chapter, and every guide example is listed;
//! - every chapter has an `## Exercises` section naming at least two solutions
//!   (`--example guide_exNN_...`), and every solution program is named by one.
//!
//! The programs themselves are built by `cargo build --examples` (CI) and run, with their
//! own checks, by `.ci/examples.sh`.

use std::fs;
use std::path::{Path, PathBuf};

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
