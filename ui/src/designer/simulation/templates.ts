/**
 * The scenario files that come with the templates (bpmn-templates/FOLDER/STEM.NAME.scenario.json),
 * bundled at build time like the gallery's diagrams: a diagram whose process id is a template's
 * stem checks them with its own saved scenarios.
 */
import type { Scenario } from './model';

const files = import.meta.glob('../../../../bpmn-templates/*/*.scenario.json', { query: '?raw', import: 'default' }) as Record<
  string,
  () => Promise<string>
>;

/** The file names of the template scenarios for a process id (its stem), sorted. */
export function templateScenarioFiles(processKey: string, paths: string[] = Object.keys(files)): string[] {
  return paths
    .filter((p) => {
      const name = p.split('/').pop() ?? '';
      return name.startsWith(`${processKey}.`) && name.endsWith('.scenario.json');
    })
    .sort();
}

/** Loads the template scenarios of a process id: [file name, scenario]; unreadable files are left out. */
export async function templateScenarios(processKey: string): Promise<{ name: string; scenario: Scenario }[]> {
  const out: { name: string; scenario: Scenario }[] = [];
  for (const path of templateScenarioFiles(processKey)) {
    try {
      const scenario = JSON.parse(await files[path]!()) as Scenario;
      if (Array.isArray(scenario?.steps)) out.push({ name: path.split('/').pop()!, scenario });
    } catch {
      /* a broken file is left out; `baton test` names it */
    }
  }
  return out;
}

export function templateScenarioCount(processKey: string): number {
  return templateScenarioFiles(processKey).length;
}
