//! tauri.conf.json lives at the repository root (the design card), not in this crate's folder.
//! `Attributes::config_path` points tauri-build at it by a plain relative path, which works the
//! same on Linux, macOS and Windows checkouts (a symlink would not: Git for Windows checks links
//! out as text files unless symlinks are enabled). Paths inside the config (frontendDist, icons)
//! are resolved from the config file's folder, so they are written from the root: `ui/dist`,
//! `icons/...`. The capabilities stay here, in `capabilities/`. `generate_context!` in main.rs
//! is given the same path.
fn main() {
    let attributes = tauri_build::Attributes::new().config_path("../tauri.conf.json");
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {e:#}");
    }
}
