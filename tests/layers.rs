//! The crate's floors hold: no module uses a module of a floor above its own, and no
//! `unsafe` appears outside the OS layer.
//!
//! The floors, bottom up, are those of the crate docs' "Layers" section (`src/lib.rs`):
//! `sys` → `util` → `driver` → `scheduler` → `runtime` → resources (everything else:
//! `AsyncFd`, `net`, `time`, `signal`, `task`, and `lib.rs`, which ties them together).
//! An import that points up a floor is a design question, answered by passing a handle
//! down or by moving the piece down, never by an exception here: this file has no list of
//! allowed violations.
//!
//! The check reads the source as text: every `crate::` path outside comments, whether in a
//! `use` line (grouped `use crate::{a, b}` included) or written inline, and every `super::`
//! path that climbs out of its floor's folder.

use std::fs;
use std::path::{Path, PathBuf};

/// The floors, bottom up; a module's floor is its position here.
const FLOORS: [&str; 6] = ["sys", "util", "driver", "scheduler", "runtime", "resources"];

/// The floor of the file at `path` (relative to `src/`).
fn floor_of_file(path: &Path) -> usize {
    let first = path
        .components()
        .next()
        .and_then(|c| c.as_os_str().to_str())
        .unwrap_or_default();
    let name = first.strip_suffix(".rs").unwrap_or(first);
    FLOORS
        .iter()
        .position(|floor| *floor == name)
        .unwrap_or(FLOORS.len() - 1)
}

/// The floor of what `crate::NAME` names: a module, or an item the crate root re-exports.
fn floor_of_path(name: &str) -> Option<usize> {
    let floor = match name {
        "sys" | "epoll" => "sys",
        "util" => "util",
        "driver" => "driver",
        "scheduler" | "JoinHandle" | "JoinError" => "scheduler",
        "runtime" | "Runtime" | "RuntimeStats" | "block_on" | "block_on_threads" | "spawn"
        | "spawn_blocking" => "runtime",
        "async_fd" | "fs" | "hyper" | "io_traits" | "net" | "process" | "signal" | "task"
        | "time" | "AsyncFd" | "ReadyGuard" | "WouldBlock" | "AsyncTcpListener"
        | "AsyncTcpStream" | "yield_now" => "resources",
        _ => return None,
    };
    FLOORS.iter().position(|f| *f == floor)
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a line: what precedes a `//` comment (doc comments included). Strings are
/// not parsed; a `//` inside a string only hides the rest of that line from the check.
fn code_of(line: &str) -> &str {
    line.find("//").map_or(line, |at| &line[..at])
}

/// `code` with the text of its string literals left out (escapes are not parsed: enough
/// for the one-line strings of this crate).
fn without_strings(code: &str) -> String {
    code.split('"').step_by(2).collect::<Vec<_>>().join("\"\"")
}

/// The names that follow each `crate::` in `code`, grouped imports expanded:
/// `use crate::{a, b::c}` gives `a` and `b`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        // `$crate::` in a macro, or part of a longer identifier, is not ours.
        let before = rest[..at].chars().last();
        let after = &rest[at + "crate::".len()..];
        rest = after;
        if before.is_some_and(|c| c == '$' || c == '_' || c.is_alphanumeric()) {
            continue;
        }
        if let Some(group) = after.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or_default();
            names.extend(group.split(',').filter_map(|item| {
                let name = item.trim().split("::").next()?.trim();
                (!name.is_empty()).then(|| name.to_owned())
            }));
        } else {
            let name: String = after
                .chars()
                .take_while(|c| *c == '_' || c.is_alphanumeric())
                .collect();
            names.push(name);
        }
    }
    names
}

/// Every source file, with its path relative to `src/` and its text.
fn sources() -> Vec<(PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).expect("read a source file");
            let relative = path.strip_prefix(&src).expect("below src/").to_path_buf();
            (relative, text)
        })
        .collect()
}

#[test]
fn no_module_uses_a_floor_above_its_own() {
    let mut violations = Vec::new();
    let mut checked = 0;
    for (path, text) in sources() {
        let own = floor_of_file(&path);
        for (number, line) in text.lines().enumerate() {
            for name in crate_paths(code_of(line)) {
                checked += 1;
                match floor_of_path(&name) {
                    Some(floor) if floor <= own => {}
                    Some(floor) => violations.push(format!(
                        "{}:{}: {} (floor {}) uses crate::{name} (floor {})",
                        path.display(),
                        number + 1,
                        path.display(),
                        FLOORS[own],
                        FLOORS[floor]
                    )),
                    None => violations.push(format!(
                        "{}:{}: crate::{name} is on no floor: add it to floor_of_path",
                        path.display(),
                        number + 1
                    )),
                }
            }
            // `super::super::` out of a floor's folder is the same climb by another road.
            if code_of(line).contains("super::super::") && path.components().count() <= 2 {
                violations.push(format!(
                    "{}:{}: super::super:: leaves the floor's folder; name the path from crate::",
                    path.display(),
                    number + 1
                ));
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} crate:: paths found: is src/ there?"
    );
    assert!(
        violations.is_empty(),
        "imports that point up a floor:\n{}",
        violations.join("\n")
    );
}

#[test]
fn unsafe_code_lives_only_in_sys() {
    let mut found = Vec::new();
    for (path, text) in sources() {
        if floor_of_file(&path) == 0 {
            continue;
        }
        for (number, line) in text.lines().enumerate() {
            let code = without_strings(code_of(line));
            let words = code.split(|c: char| !(c == '_' || c.is_alphanumeric()));
            if words.into_iter().any(|word| word == "unsafe") {
                found.push(format!(
                    "{}:{}: {}",
                    path.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "unsafe outside src/sys/:\n{}",
        found.join("\n")
    );
    // The compiler enforces the same: the crate denies `unsafe_code`, and only the `sys`
    // module is exempt.
    let lib = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("read src/lib.rs");
    assert!(lib.contains("#![deny(unsafe_code)]"));
    let exemptions: Vec<&str> = lib
        .lines()
        .filter(|line| line.contains("allow(unsafe_code"))
        .collect();
    assert_eq!(
        exemptions.len(),
        1,
        "one exemption, for sys: {exemptions:?}"
    );
}

#[test]
fn the_checker_sees_what_it_must() {
    // A grouped import, an inline path, a macro's `$crate`, and a comment.
    assert_eq!(
        crate_paths("use crate::{driver::Reactor, util::slab::Key};"),
        ["driver", "util"]
    );
    assert_eq!(
        crate_paths("let r = crate::runtime::context::x();"),
        ["runtime"]
    );
    assert!(crate_paths("$crate::sys::foo()").is_empty());
    assert!(crate_paths(code_of("// see crate::runtime")).is_empty());
    assert_eq!(floor_of_file(Path::new("driver/mod.rs")), 2);
    assert_eq!(floor_of_file(Path::new("net/udp.rs")), 5);
    assert_eq!(floor_of_file(Path::new("sys/epoll.rs")), 0);
    assert_eq!(floor_of_path("Runtime"), Some(4));
    assert_eq!(
        without_strings(r#"f("an unsafe word") + 1"#),
        r#"f("") + 1"#
    );
}
