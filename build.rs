//! Embeds the built web UI (ui/dist, made by `npm run build` in ui/) into the `baton` binary:
//! writes `$OUT_DIR/ui_assets.rs` with `UI_FILES`, every file under ui/dist by its path relative
//! to it. Without ui/dist/index.html the list is empty and `baton serve` shows a page saying how
//! to build the UI; the build never fails for want of it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    let ui = root.join("ui");
    let dist = ui.join("dist");
    println!("cargo:rerun-if-changed=build.rs");
    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        // A folder is watched with everything in it: a rebuilt UI re-embeds.
        println!("cargo:rerun-if-changed={}", dist.display());
        collect(&dist, &dist, &mut files);
        files.sort();
    } else if ui.is_dir() {
        // No build yet: watch ui/ so that the first `npm run build` is noticed. (A path that
        // does not exist would make cargo rerun this script, and rebuild baton, every time.)
        println!("cargo:rerun-if-changed={}", ui.display());
    }
    let mut code = String::from(
        "/// The web UI built into this binary (empty when ui/dist was not built).\n\
         pub static UI_FILES: &[(&str, &[u8])] = &[\n",
    );
    // Copied into OUT_DIR first: a UI rebuilt while cargo runs (vite empties ui/dist) cannot
    // pull a file from under rustc. A file gone between the listing and the copy is left out,
    // and the change to ui/dist makes the next build embed the new UI.
    let copies = out.join("ui");
    let _ = std::fs::remove_dir_all(&copies);
    if let Err(e) = std::fs::create_dir_all(&copies) {
        panic!("cannot create {}: {e}", copies.display());
    }
    for (i, (rel, abs)) in files.iter().enumerate() {
        println!("cargo:rerun-if-changed={}", abs.display());
        let copy = copies.join(format!("{i}.bin"));
        if let Err(e) = std::fs::copy(abs, &copy) {
            println!("cargo:warning=ui/dist/{rel} left out: {e}");
            continue;
        }
        let _ = writeln!(
            code,
            "    ({rel:?}, include_bytes!({:?})),",
            copy.display().to_string()
        );
    }
    code.push_str("];\n");
    let target = out.join("ui_assets.rs");
    if let Err(e) = std::fs::write(&target, code) {
        panic!("cannot write {}: {e}", target.display());
    }
}

/// Every file under `dir`, as (path relative to `base` with `/` separators, path).
/// Unreadable entries are skipped with a warning rather than failing the build.
fn collect(base: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            println!("cargo:warning=cannot read {}: {e}", dir.display());
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect(base, &path, files);
        } else if kind.is_file() {
            let Ok(rel) = path.strip_prefix(base) else {
                continue;
            };
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            files.push((rel.join("/"), path));
        }
    }
}
