//! The desktop app's own file commands, beside the dialog and fs plugins (which only reach the
//! files the user picked):
//! - `launch_file`: the diagram given on the command line (`baton-desktop order.bpmn`, what a
//!   file manager's "Open with" runs), which the designer opens at start. Giving it is picking
//!   it, so it joins the window's file scope like a file chosen in the Open dialog.
//! - `scenario_files`: the scenario files beside a diagram file in that scope, paired with it
//!   by the same rule as `baton test` (baton_runtime::scenario_files), for Check scenarios.
//!
//! See docs/desktop.md.

use baton_runtime::scenario_files::{beside, Beside};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tauri::Manager;
use tauri_plugin_fs::FsExt;

/// The diagram given on the command line, until the designer asks for it (once), or why it
/// cannot be opened.
pub(crate) struct LaunchFile(Mutex<Option<Result<PathBuf, String>>>);

/// The first argument that is not an option, as an absolute path; whether it is a file is
/// checked by `opened`.
fn launch_arg(args: impl Iterator<Item = OsString>) -> Option<PathBuf> {
    let arg = args
        .map(PathBuf::from)
        .find(|a| !a.to_string_lossy().starts_with('-'))?;
    std::path::absolute(&arg).ok().or(Some(arg))
}

/// The file itself (links resolved), or why it cannot be opened, in words naming it.
fn opened(path: &Path) -> Result<PathBuf, String> {
    let shown = path.display();
    let real = path.canonicalize().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("{shown} does not exist"),
        _ => format!("{shown} could not be read: {e}"),
    })?;
    if !real.is_file() {
        return Err(format!("{shown} is not a file"));
    }
    Ok(real)
}

/// Reads the command line's diagram (if any) at start and lets the window read that one file.
pub(crate) fn take_launch_arg(app: &tauri::AppHandle, args: impl Iterator<Item = OsString>) {
    let file = launch_arg(args).map(|p| opened(&p));
    if let Some(Ok(path)) = &file {
        if let Err(e) = app.fs_scope().allow_file(path) {
            tracing::warn!("{} was not added to the file scope: {e}", path.display());
        }
    }
    app.manage(LaunchFile(Mutex::new(file)));
}

/// The diagram given on the command line, once: later calls (a reload of the page) answer none.
#[tauri::command]
pub(crate) fn launch_file(state: tauri::State<'_, LaunchFile>) -> Result<Option<String>, String> {
    let taken = state
        .0
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    taken
        .transpose()
        .map(|p| p.map(|p| p.to_string_lossy().into_owned()))
}

/// The scenario files beside a diagram file, as `baton test` pairs them. Only for a file in the
/// window's file scope (opened or saved through a dialog, or given on the command line): the
/// window cannot list other folders through this.
#[tauri::command]
pub(crate) async fn scenario_files(
    app: tauri::AppHandle,
    diagram: String,
) -> Result<Vec<Beside>, String> {
    let path = PathBuf::from(&diagram);
    if !path.is_absolute() || !app.fs_scope().is_allowed(&path) {
        return Err(format!(
            "{diagram} is not a file opened or saved in this app, so its folder is not read"
        ));
    }
    tauri::async_runtime::spawn_blocking(move || beside(&path))
        .await
        .map_err(|e| format!("reading the scenario files stopped: {e}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> impl Iterator<Item = OsString> {
        list.iter()
            .map(OsString::from)
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn the_first_argument_that_is_not_an_option_is_the_diagram() {
        assert_eq!(launch_arg(args(&[])), None);
        assert_eq!(launch_arg(args(&["--verbose"])), None);
        let found = launch_arg(args(&["-x", "order.bpmn", "other.bpmn"])).unwrap();
        assert!(found.is_absolute());
        assert!(found.ends_with("order.bpmn"));
    }

    #[test]
    fn a_missing_file_or_a_folder_is_refused_in_words() {
        let dir = std::env::temp_dir();
        let gone = dir.join("baton-no-such-diagram.bpmn");
        assert_eq!(
            opened(&gone).unwrap_err(),
            format!("{} does not exist", gone.display())
        );
        assert!(opened(&dir).unwrap_err().ends_with("is not a file"));
    }
}
