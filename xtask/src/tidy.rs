//! Tidy checks: repository-wide rules run as ordinary tests, so the test command enforces them.
//!
//! Each failing check names the offending files, relative to the workspace root.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::workspace_root;

/// The crates whose Cargo.toml may not pull in a database or web framework, directly or through
/// another crate of this workspace.
const FRAMEWORK_FREE_CRATES: &[&str] = &["token-core", "token-oauth"];
const FORBIDDEN_DEPENDENCY_PREFIXES: &[&str] = &["diesel", "actix"];
/// Placeholders that must not reach non-test code.
const PLACEHOLDER_MACROS: &[&str] = &["todo!(", "unimplemented!(", "dbg!("];

#[test]
fn every_source_file_starts_with_a_doc_line() {
    assert_clean(
        "these files do not start with a `//!` line saying what they are for",
        files_without_doc_line(&workspace_root()),
    );
}

#[test]
fn migration_trees_hold_the_same_migrations() {
    assert_clean("the migration trees disagree", migration_problems(&workspace_root()));
}

#[test]
fn domain_crates_depend_on_neither_diesel_nor_actix() {
    let what = format!(
        "{} must stay free of {}",
        FRAMEWORK_FREE_CRATES.join(" and "),
        FORBIDDEN_DEPENDENCY_PREFIXES.join("/")
    );
    assert_clean(&what, framework_dependencies(&workspace_root()));
}

#[test]
fn no_placeholder_macros_in_non_test_code() {
    assert_clean("placeholders left in non-test code", placeholders(&workspace_root()));
}

#[test]
fn readme_names_the_commands() {
    assert_clean("README.md must show how to test and run tokend", readme_problems(&workspace_root()));
}

fn assert_clean(what: &str, problems: Vec<String>) {
    assert!(problems.is_empty(), "{what}:\n  {}", problems.join("\n  "));
}

fn files_without_doc_line(root: &Path) -> Vec<String> {
    ["crates", "xtask", "tests"]
        .iter()
        .flat_map(|dir| rust_files(&root.join(dir)))
        .filter(|path| !read(root, path).lines().next().is_some_and(|line| line.starts_with("//!")))
        .map(|path| relative(root, &path))
        .collect()
}

fn migration_problems(root: &Path) -> Vec<String> {
    let migrations = root.join("migrations");
    let sqlite = migration_names(root, &migrations.join("sqlite"));
    let postgres = migration_names(root, &migrations.join("postgres"));
    let mut problems = Vec::new();
    for name in sqlite.difference(&postgres) {
        problems.push(format!("migrations/sqlite/{name} has no counterpart migrations/postgres/{name}"));
    }
    for name in postgres.difference(&sqlite) {
        problems.push(format!("migrations/postgres/{name} has no counterpart migrations/sqlite/{name}"));
    }
    for (tree, names) in [("sqlite", &sqlite), ("postgres", &postgres)] {
        for name in names {
            for file in ["up.sql", "down.sql"] {
                let path = migrations.join(tree).join(name).join(file);
                let blank = std::fs::read_to_string(&path).map_or(true, |text| text.trim().is_empty());
                if blank {
                    problems.push(format!("{} is missing or empty", relative(root, &path)));
                }
            }
        }
    }
    problems
}

fn framework_dependencies(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for name in FRAMEWORK_FREE_CRATES {
        if root.join("crates").join(name).join("Cargo.toml").exists() {
            forbidden_dependencies(root, name, &mut vec![(*name).to_owned()], &mut problems);
        }
    }
    problems
}

fn placeholders(root: &Path) -> Vec<String> {
    let crates = root.join("crates");
    let mut offenders = Vec::new();
    for path in rust_files(&crates) {
        let in_tests_dir = path.strip_prefix(&crates).is_ok_and(|p| p.components().any(|c| c.as_os_str() == "tests"));
        if in_tests_dir {
            continue;
        }
        for (index, line) in read(root, &path).lines().enumerate() {
            // Comments may name the macros; code may not use them.
            if line.trim_start().starts_with("//") {
                continue;
            }
            for placeholder in PLACEHOLDER_MACROS.iter().filter(|p| line.contains(*p)) {
                offenders.push(format!("{}:{}: {placeholder}", relative(root, &path), index + 1));
            }
        }
    }
    offenders
}

/// Only once README.md exists: until then there is nothing to check.
fn readme_problems(root: &Path) -> Vec<String> {
    let path = root.join("README.md");
    if !path.exists() {
        return Vec::new();
    }
    let text = read(root, &path);
    ["cargo xtask test", "cargo run"]
        .into_iter()
        .filter(|command| !text.contains(command))
        .map(|command| format!("README.md does not mention `{command}`"))
        .collect()
}

/// Follows `crate_name`'s normal dependencies, descending into crates of this workspace, and
/// records each forbidden one with the chain that leads to it.
fn forbidden_dependencies(root: &Path, crate_name: &str, chain: &mut Vec<String>, problems: &mut Vec<String>) {
    let crates = root.join("crates");
    let manifest = crates.join(crate_name).join("Cargo.toml");
    for dependency in normal_dependencies(&read(root, &manifest)) {
        if FORBIDDEN_DEPENDENCY_PREFIXES.iter().any(|prefix| dependency.starts_with(prefix)) {
            problems.push(format!("{}: {} -> {dependency}", relative(root, &manifest), chain.join(" -> ")));
        } else if crates.join(&dependency).join("Cargo.toml").exists() && !chain.contains(&dependency) {
            chain.push(dependency.clone());
            forbidden_dependencies(root, &dependency, chain, problems);
            chain.pop();
        }
    }
}

/// The package names in a manifest's `[dependencies]` and `[target.'…'.dependencies]` tables
/// (dev- and build-dependencies excluded), following `package = "…"` renames. A line-based
/// reading: enough for manifests written the usual way, which is all this check has to judge.
fn normal_dependencies(manifest: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    // Inside `[dependencies]`: None. Inside `[dependencies.<name>]`: Some(name).
    let mut section: Option<Option<String>> = None;
    for line in manifest.lines() {
        let line = line.split_once(" #").map_or(line, |(code, _comment)| code).trim();
        if line.starts_with('[') {
            let header = line.trim_matches(|c| c == '[' || c == ']').trim();
            let header = header.strip_prefix("target.").map_or(header, |rest| {
                // Skip the quoted cfg/triple, which may itself contain dots.
                let rest = rest
                    .strip_prefix(['\'', '"'])
                    .map_or(rest, |quoted| quoted.find(['\'', '"']).map_or(quoted, |end| &quoted[end + 1..]));
                rest.split_once('.').map_or("", |(_, after)| after)
            });
            section = if header == "dependencies" {
                Some(None)
            } else {
                header.strip_prefix("dependencies.").map(|name| Some(unquote(name).to_owned()))
            };
            if let Some(Some(name)) = &section {
                names.insert(name.clone());
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match &section {
            Some(None) => {
                let name = unquote(key.trim().split('.').next().unwrap_or_default());
                names.insert(package_rename(value).unwrap_or(name).to_owned());
            }
            Some(Some(table)) if key.trim() == "package" => {
                names.remove(table);
                names.insert(unquote(value).to_owned());
            }
            _ => {}
        }
    }
    names
}

/// `"diesel"` from an inline table such as `{ package = "diesel", version = "2" }`.
fn package_rename(value: &str) -> Option<&str> {
    let (_, after) = value.split_once("package")?;
    let (_, after) = after.trim_start().strip_prefix('=').map(|a| ("", a))?;
    let after = after.trim_start().strip_prefix('"')?;
    after.split_once('"').map(|(name, _)| name)
}

fn unquote(text: &str) -> &str {
    text.trim().trim_matches(|c| c == '"' || c == '\'')
}

fn migration_names(root: &Path, dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", relative(root, dir)))
        .map(|entry| entry.unwrap_or_else(|e| panic!("cannot read {}: {e}", relative(root, dir))).path())
        .filter(|path| path.is_dir())
        .map(|path| path.file_name().unwrap_or_default().to_string_lossy().into_owned())
        .collect()
}

/// Every `.rs` file under `dir`, sorted, skipping `target` folders. A missing `dir` has none.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display())).path();
            if path.is_dir() {
                if path.file_name().is_some_and(|name| name != "target") {
                    pending.push(path);
                }
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn read(root: &Path, path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", relative(root, path)))
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

#[test]
fn normal_dependencies_reads_the_usual_manifest_shapes() {
    let manifest = r#"
[package]
name = "x"
diesel-in-package-section = "not a dependency"

[dependencies]
time.workspace = true
serde = { version = "1", features = ["derive"] }
db = { package = "diesel", version = "2" } # renamed
"quoted-name" = "1"

[dependencies.web]
package = "actix-web"
version = "4"

[dependencies.sha2]
version = "0.10"

[target.'cfg(unix)'.dependencies]
libc = "0.2"

[target."x86_64-unknown-linux-gnu".dependencies.tls]
version = "1"

[dev-dependencies]
diesel = "2"

[build-dependencies]
actix = "0.13"
"#;
    let expected = ["diesel", "actix-web", "libc", "quoted-name", "serde", "sha2", "time", "tls"];
    assert_eq!(normal_dependencies(manifest), expected.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>());
}

/// Each check, run on a small tree that breaks it, names the offending file.
#[test]
fn checks_name_the_offending_files() {
    let root = std::env::temp_dir().join(format!("xtask-tidy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("crates/token-core/Cargo.toml", "[dependencies]\ntoken-store.workspace = true\n");
    write("crates/token-core/src/lib.rs", "//! Domain.\npub fn f() { todo!() }\n// todo!() in a comment is fine\n");
    write("crates/token-store/Cargo.toml", "[dependencies]\ndiesel.workspace = true\n");
    write("crates/token-store/src/lib.rs", "\n//! A blank line first.\n");
    write("crates/token-store/tests/it/main.rs", "//! Tests.\nfn t() { dbg!(1); }\n");
    write("tests/lib.rs", "// Not a doc line.\n");
    write("xtask/target/debug/build/out.rs", "generated\n");
    write("migrations/sqlite/1_a/up.sql", "CREATE TABLE a (x INTEGER);");
    write("migrations/sqlite/1_a/down.sql", "DROP TABLE a;");
    write("migrations/sqlite/2_b/up.sql", "CREATE TABLE b (x INTEGER);");
    write("migrations/sqlite/2_b/down.sql", "DROP TABLE b;");
    write("migrations/postgres/1_a/up.sql", "CREATE TABLE a (x INTEGER);");
    write("migrations/postgres/1_a/down.sql", " \n");
    write("README.md", "Run it with `cargo run -- serve`.\n");

    let result = std::panic::catch_unwind(|| {
        assert_eq!(files_without_doc_line(&root), ["crates/token-store/src/lib.rs", "tests/lib.rs"]);
        assert_eq!(
            migration_problems(&root),
            [
                "migrations/sqlite/2_b has no counterpart migrations/postgres/2_b",
                "migrations/postgres/1_a/down.sql is missing or empty",
            ]
        );
        assert_eq!(
            framework_dependencies(&root),
            ["crates/token-store/Cargo.toml: token-core -> token-store -> diesel"]
        );
        assert_eq!(placeholders(&root), ["crates/token-core/src/lib.rs:2: todo!("]);
        assert_eq!(readme_problems(&root), ["README.md does not mention `cargo xtask test`"]);
    });
    let _ = std::fs::remove_dir_all(&root);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
