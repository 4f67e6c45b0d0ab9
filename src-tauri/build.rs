//! tauri.conf.json lives at the repository root (the design card), not in this crate's folder.
//! `Attributes::config_path` points tauri-build at it by a plain relative path, which works the
//! same on Linux, macOS and Windows checkouts (a symlink would not: Git for Windows checks links
//! out as text files unless symlinks are enabled, and the Tauri CLI is not needed to build).
//! Paths inside the config (frontendDist, icons) are resolved from the config file's folder, so
//! they are written from the root: `ui/dist`, `icons/...`. The capabilities stay here, in
//! `capabilities/`. `generate_context!` in main.rs is given the same path.
use std::path::Path;

fn main() {
    // The built UI is embedded by `generate_context!`, which cargo does not track: rebuild the
    // app whenever ui/dist changes, and say how to make it when it is missing.
    println!("cargo:rerun-if-changed=../ui/dist");
    if std::env::var_os("CARGO_FEATURE_EMBED_UI").is_some()
        && !Path::new("../ui/dist/index.html").is_file()
    {
        panic!(
            "ui/dist/index.html is missing: build the UI first (cd ui && npm ci && npm run build; \
             `cargo xtask run` and `cargo xtask test` do it)"
        );
    }
    let attributes = tauri_build::Attributes::new().config_path("../tauri.conf.json");
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {e:#}");
    }
}
