/**
 * Import circles in src/ (issue 17): walks every .ts file's relative imports
 * (`import`, `import type`, `export … from`, `import("…")`) and reports each
 * strongly connected group of files. Type-only imports count: a circle of
 * types still couples the modules and hides which one is the base.
 *
 *   npx tsx tools/check-imports.ts [dir]     (exit 1 when there is a circle)
 *
 * No madge offline; this is the small part of it the project needs.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SPECIFIERS = /(?:^|[;\s])(?:import|export)\s[^'"`;]*?\sfrom\s*["']([^"']+)["']|(?:^|[;\s])import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return path.endsWith(".ts") && !path.endsWith(".d.ts") ? [path] : [];
  });
}

function resolveImport(from: string, specifier: string, known: Set<string>): string | null {
  if (!specifier.startsWith(".")) return null;
  const base = resolve(dirname(from), specifier).replace(/\.js$/, "");
  for (const candidate of [base, `${base}.ts`, join(base, "index.ts")]) if (known.has(candidate)) return candidate;
  return null;
}

/** Comments are dropped first so a commented-out import is not an edge. */
const stripComments = (source: string) => source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");

/** file → the files it imports, for every .ts file under `root`. */
export function importGraph(root: string): Map<string, string[]> {
  const files = tsFiles(resolve(root));
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = new Set<string>();
    for (const match of stripComments(readFileSync(file, "utf8")).matchAll(SPECIFIERS)) {
      const target = resolveImport(file, (match[1] ?? match[2] ?? match[3])!, known);
      if (target) targets.add(target);
    }
    graph.set(file, [...targets]);
  }
  return graph;
}

/** Groups of files that import each other (Tarjan's strongly connected components of size > 1, or a self-import). */
export function importCycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== node);
    if (group.length > 1 || graph.get(node)?.includes(node)) cycles.push(group.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = process.argv[2] ?? "src";
  const cycles = importCycles(importGraph(root));
  for (const group of cycles) console.log(`import circle: ${group.map((file) => relative(process.cwd(), file)).join(" ↔ ")}`);
  console.log(cycles.length === 0 ? `no import circles in ${root}` : `${cycles.length} import circle(s) in ${root}`);
  process.exitCode = cycles.length === 0 ? 0 : 1;
}
