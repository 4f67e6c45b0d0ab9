/**
 * The template gallery: bpmn-templates/ bundled at build time (each file its own lazy chunk),
 * with the forms of each template folder.
 */
import type { Forms } from './tabs';

const diagrams = import.meta.glob('../../../bpmn-templates/*/*.bpmn', { query: '?raw', import: 'default' }) as Record<
  string,
  () => Promise<string>
>;
const forms = import.meta.glob('../../../bpmn-templates/*/forms/*.form.json', { query: '?raw', import: 'default' }) as Record<
  string,
  () => Promise<string>
>;

export interface Template {
  /** The process id, e.g. `PaymentApprovalProcess` (the file's stem). */
  id: string;
  /** The folder, e.g. `payment-approval`. */
  folder: string;
  title: string;
  fileName: string;
  load(): Promise<{ xml: string; forms: Forms }>;
}

function titleOf(folder: string): string {
  return folder
    .split(/[-_]/)
    .map((w) => (w ? w[0]!.toUpperCase() + w.slice(1) : w))
    .join(' ');
}

export function templates(): Template[] {
  const list: Template[] = [];
  for (const [path, loadXml] of Object.entries(diagrams)) {
    const parts = path.split('/');
    const fileName = parts[parts.length - 1]!;
    const folder = parts[parts.length - 2]!;
    const id = fileName.replace(/\.bpmn$/, '');
    list.push({
      id,
      folder,
      title: titleOf(folder),
      fileName,
      async load() {
        const xml = await loadXml();
        const attached: Forms = {};
        const prefix = path.slice(0, path.length - fileName.length) + 'forms/';
        for (const [formPath, loadForm] of Object.entries(forms)) {
          if (!formPath.startsWith(prefix)) continue;
          const key = formPath.slice(prefix.length).replace(/\.form\.json$/, '');
          try {
            attached[key] = JSON.parse(await loadForm());
          } catch {
            /* a broken form file is left out; the Problems panel names the missing form on deploy */
          }
        }
        return { xml, forms: attached };
      },
    });
  }
  return list.sort((a, b) => a.title.localeCompare(b.title));
}
