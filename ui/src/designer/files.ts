/**
 * Files on disk. In the desktop app: Tauri's dialog and fs plugins (the fs scope is what the
 * user picked). In a browser: the File System Access API where Chromium offers it (a save goes
 * back to the same file), else a file input and a download.
 */
import type { ScenarioFileText } from './simulation/model';
import { inTauri } from '../transport';

/* eslint-disable @typescript-eslint/no-explicit-any */
interface FsHandle {
  name: string;
  getFile(): Promise<File>;
  createWritable(): Promise<{ write(data: Blob | string): Promise<void>; close(): Promise<void> }>;
}

export interface OpenedFile {
  name: string;
  text: string;
  path: string | null;
  handle?: FsHandle;
}

export interface SavedFile {
  name: string;
  path: string | null;
  handle?: FsHandle;
}

const BPMN_FILTER = { name: 'BPMN diagram', extensions: ['bpmn', 'xml'] };

export function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

const hasFsAccess = () => typeof (window as any).showOpenFilePicker === 'function';

function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'AbortError';
}

/**
 * Asks for a .bpmn file. `fallback` is the view's hidden file input, used where neither Tauri
 * nor the File System Access API is there (its change event delivers the file instead).
 */
export async function pickBpmnFile(fallback: HTMLInputElement): Promise<OpenedFile | null> {
  if (inTauri) {
    const { open } = await import('@tauri-apps/plugin-dialog');
    const picked = await open({ multiple: false, directory: false, filters: [BPMN_FILTER] });
    if (typeof picked !== 'string') return null;
    return readPath(picked);
  }
  if (hasFsAccess()) {
    try {
      const [handle] = (await (window as any).showOpenFilePicker({
        types: [{ description: 'BPMN diagram', accept: { 'application/xml': ['.bpmn', '.xml'] } }],
        excludeAcceptAllOption: false,
      })) as FsHandle[];
      if (!handle) return null;
      const file = await handle.getFile();
      return { name: file.name, text: await file.text(), path: null, handle };
    } catch (e) {
      if (isAbort(e)) return null;
      throw e;
    }
  }
  fallback.value = '';
  fallback.click();
  return null;
}

/** The diagram given on the desktop app's command line, once (null: none, or not the desktop app). */
export async function launchFile(): Promise<string | null> {
  if (!inTauri) return null;
  const { invoke } = await import('@tauri-apps/api/core');
  return invoke<string | null>('launch_file');
}

/**
 * The scenario files beside the diagram file at `path` that `baton test` would run against it
 * (the desktop app's `scenario_files` command; only for a file opened or saved in the app).
 */
export async function scenarioFilesBeside(path: string): Promise<ScenarioFileText[]> {
  const { invoke } = await import('@tauri-apps/api/core');
  return invoke<ScenarioFileText[]>('scenario_files', { diagram: path });
}

/** Reads a file the desktop app knows the path of (an opened or recent file). */
export async function readPath(path: string): Promise<OpenedFile> {
  const { readTextFile } = await import('@tauri-apps/plugin-fs');
  return { name: baseName(path), text: await readTextFile(path), path };
}

/**
 * Saves text. With `saveAs` false and a known place (path or handle), writes there without
 * asking. Answers where it went, or null when the user cancelled.
 */
export async function saveText(
  text: string,
  suggested: string,
  place: { path: string | null; handle?: FsHandle },
  saveAs: boolean,
  mime = 'application/xml',
  filter = BPMN_FILTER,
): Promise<SavedFile | null> {
  return saveData(new Blob([text], { type: mime }), suggested, place, saveAs, filter, text);
}

export async function saveData(
  blob: Blob,
  suggested: string,
  place: { path: string | null; handle?: FsHandle },
  saveAs: boolean,
  filter: { name: string; extensions: string[] },
  asText?: string,
): Promise<SavedFile | null> {
  if (inTauri) {
    let path = saveAs ? null : place.path;
    if (!path) {
      const { save } = await import('@tauri-apps/plugin-dialog');
      path = await save({ defaultPath: suggested, filters: [filter] });
      if (!path) return null;
    }
    const fs = await import('@tauri-apps/plugin-fs');
    if (asText !== undefined) await fs.writeTextFile(path, asText);
    else await fs.writeFile(path, new Uint8Array(await blob.arrayBuffer()));
    return { name: baseName(path), path };
  }
  if (hasFsAccess() && typeof (window as any).showSaveFilePicker === 'function') {
    let handle = saveAs ? undefined : place.handle;
    try {
      if (!handle) {
        handle = (await (window as any).showSaveFilePicker({
          suggestedName: suggested,
          types: [{ description: filter.name, accept: { [blob.type || 'application/octet-stream']: filter.extensions.map((e) => `.${e}`) } }],
        })) as FsHandle;
      }
      const writable = await handle.createWritable();
      await writable.write(blob);
      await writable.close();
      return { name: handle.name, path: null, handle };
    } catch (e) {
      if (isAbort(e)) return null;
      throw e;
    }
  }
  download(blob, suggested);
  return { name: suggested, path: null };
}

/** A browser download of `blob` named `name`. */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Exports are downloaded in a browser (no dialog), saved through the dialog in the app. */
export async function exportData(blob: Blob, name: string, filter: { name: string; extensions: string[] }): Promise<SavedFile | null> {
  if (inTauri) return saveData(blob, name, { path: null }, true, filter);
  download(blob, name);
  return { name, path: null };
}
