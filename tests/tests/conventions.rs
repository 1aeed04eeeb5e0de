//! Conventions the modules keep, checked over their sources so a new module keeps them too.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every client-facing error a module returns is a variant of its own error enum, so its
/// `error.rs` lists every code (and reason) the module can answer with. The kernel, which defines
/// the constructors, is the one exception.
#[test]
fn every_module_error_goes_through_its_error_enum() {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../modules");
    let constructors = [
        "AppError::bad_input(",
        "AppError::conflict(",
        "AppError::forbidden(",
        "AppError::not_found(",
        "AppError::unauthenticated",
        "AppError::new(",
    ];
    let mut checked = 0;
    let mut stray = Vec::new();
    for module in std::fs::read_dir(&modules).unwrap() {
        let module = module.unwrap().path();
        if module.file_name().is_some_and(|n| n == "kernel") {
            continue;
        }
        let mut files = Vec::new();
        rust_files(&module.join("src"), &mut files);
        for file in files.iter().filter(|f| !f.ends_with("error.rs")) {
            checked += 1;
            let text = std::fs::read_to_string(file).unwrap();
            for (n, line) in text.lines().enumerate() {
                if constructors.iter().any(|c| line.contains(c)) {
                    stray.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(checked > 50, "found the modules' sources ({checked} files)");
    assert!(stray.is_empty(), "errors built outside the module's error.rs:\n{}", stray.join("\n"));
}

/// The end-to-end suites are one binary (`tests/main.rs`), so a suite file that main.rs does not
/// name would never compile or run; every file beside it must be named there.
#[test]
fn every_suite_file_is_named_in_main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let main = std::fs::read_to_string(dir.join("main.rs")).unwrap();
    let mut suites = 0;
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else { continue };
        if path.extension().is_some_and(|e| e == "rs") && stem != "main" {
            suites += 1;
            if !main.lines().any(|l| l.trim() == format!("mod {stem};")) {
                missing.push(stem.to_string());
            }
        }
    }
    assert!(suites > 20, "found the suites ({suites} files)");
    assert!(missing.is_empty(), "suites not named in tests/main.rs: {missing:?}");
}

/// Every write transaction begins through `xqt_kernel::db::begin`, which on SQLite takes the
/// write lock at `BEGIN` so concurrent writers wait their turn; a plain `begin()` there answers
/// `SQLITE_BUSY` (an `INTERNAL`) to the second writer.
#[test]
fn every_transaction_begins_through_the_kernel() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    rust_files(&root.join("modules"), &mut files);
    rust_files(&root.join("server/src"), &mut files);
    let mut stray = Vec::new();
    for file in files.iter().filter(|f| !f.ends_with("kernel/src/db.rs")) {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.contains(".begin().await") || line.contains(".transaction::<") || line.contains(".transaction(|") {
                stray.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(files.len() > 50, "found the sources ({} files)", files.len());
    assert!(stray.is_empty(), "transactions begun without xqt_kernel::db::begin:\n{}", stray.join("\n"));
}
