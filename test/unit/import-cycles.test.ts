/** No import circles in src/ (issue 17), and the checker finds the ones it should. */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { importCycles, importGraph } from "../../tools/check-imports";

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "imports-"));
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), source);
  }
  return root;
}

describe("import circles", () => {
  it("src/ has none", () => {
    const cycles = importCycles(importGraph("src")).map((group) => group.map((file) => relative(process.cwd(), file)));
    expect(cycles).toEqual([]);
  });

  it("finds a circle through a type-only import, an index module and a re-export", () => {
    const root = tree({
      "app.ts": 'import { routes } from "./routes";\nexport type Env = { a: 1 };\n',
      "routes/index.ts": 'export { route } from "./route";\nexport const routes = 1;\n',
      "routes/route.ts": 'import type {\n  Env,\n} from "../app";\nexport const route = 2;\n',
      "leaf.ts": 'import { routes } from "./routes/index.js";\n// import { x } from "./leaf";\n',
    });
    const cycles = importCycles(importGraph(root)).map((group) => group.map((file) => relative(root, file)));
    expect(cycles).toEqual([["app.ts", "routes/index.ts", "routes/route.ts"]]);
  });

  it("reports nothing for a tree that only points one way", () => {
    const root = tree({ "a.ts": 'import "./b";\n', "b.ts": 'export const b = await import("./c");\n', "c.ts": "export {};\n" });
    expect(importCycles(importGraph(root))).toEqual([]);
  });
});
