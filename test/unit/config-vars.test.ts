/**
 * The configuration table (src/config/vars.ts) that the worker and the deploy
 * check share: self-consistent, matched by wrangler.toml, and strict.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { CONFIG_VARS, configProblems, describeAllowed, type VarSpec } from "../../src/config/vars";

const tomlVars = () => {
  const config = unstable_readConfig({ config: path.resolve(import.meta.dirname, "../../wrangler.toml") });
  return Object.fromEntries(Object.entries(config.vars ?? {}).map(([k, v]) => [k, String(v)]));
};

describe("configuration table", () => {
  it("every default is inside its own range, and wrangler.toml's [vars] pass", () => {
    for (const [name, spec] of Object.entries(CONFIG_VARS) as [string, VarSpec][]) {
      if (spec.kind === "int") expect(configProblems({ [name]: String(spec.default) }), name).toEqual([]);
      if (spec.kind === "enum" && spec.default !== null) expect(spec.values, name).toContain(spec.default);
    }
    expect(configProblems(tomlVars())).toEqual([]);
  });

  it("every validated variable is documented in wrangler.toml [vars] or, for test-only switches, nowhere", () => {
    const documented = Object.keys(tomlVars());
    expect(Object.keys(CONFIG_VARS).filter((name) => !documented.includes(name))).toEqual(["DEV_FAULTS"]);
  });

  it("the README's configuration table shows every variable's range or allowed values", () => {
    const readme = readFileSync(path.resolve(import.meta.dirname, "../../README.md"), "utf8");
    for (const [name, spec] of Object.entries(CONFIG_VARS) as [string, VarSpec][]) {
      const row = readme.split("\n").find((line) => line.startsWith(`| \`${name}\``));
      expect(row, name).toBeDefined();
      const cells = row!.split(" | ");
      const allowed = cells[2]!;
      if (spec.kind === "int") expect(allowed, name).toBe(`${spec.min}–${spec.max}`);
      if (spec.kind === "enum") {
        expect(allowed, name).toContain(spec.values.map((v) => `\`${v}\``).join(", "));
        if (spec.default === null) expect(allowed, name).toContain("empty");
      }
      if (spec.kind === "url") expect(allowed, name).toContain(spec.schemes.includes("ws:") ? "`ws(s)://`" : "`http(s)://`");
      if (spec.kind === "optionalNumber") expect(allowed, name).toBe(`empty, or a number from ${spec.min} to ${spec.max}`);
    }
  });

  it("refuses values below a minimum instead of substituting the default", () => {
    expect(configProblems({ AUTH_TOKEN_TTL_SECONDS: "3", MAX_REQUEST_BODY_BYTES: "512" })).toEqual([
      { variable: "AUTH_TOKEN_TTL_SECONDS", allowed: "a whole number from 5 to 3600 (s)" },
      { variable: "MAX_REQUEST_BODY_BYTES", allowed: "a whole number from 1024 to 1048576 (bytes)" },
    ]);
  });

  it("accepts unset and empty values (the default), numbers as TOML gives them, and exact bounds", () => {
    expect(configProblems({})).toEqual([]);
    expect(configProblems({ IDLE_TIMEOUT_SECONDS: "", REALTIME_FALLBACK_ENGINE: "", LLM_BASE_URL: "" })).toEqual([]);
    expect(configProblems({ IDLE_TIMEOUT_SECONDS: 60, AUTH_TOKEN_TTL_SECONDS: "5", MAX_FRAME_BYTES: String(1024 * 1024) })).toEqual([]);
  });

  it("refuses fractions, signs, exponents, padding, wrong case and foreign URL schemes", () => {
    for (const value of ["1.5", "-1", "1e3", " 60", "60 ", "0x10", "sixty"]) {
      expect(configProblems({ IDLE_TIMEOUT_SECONDS: value }), value).toHaveLength(1);
    }
    expect(configProblems({ REALTIME_ENGINE: "Native" })).toHaveLength(1);
    expect(configProblems({ AUTH_MODE: "disabled" })).toHaveLength(1);
    expect(configProblems({ BATCH_ENGINE_URL: "ws://engine" })).toHaveLength(1);
    expect(configProblems({ REALTIME_ENGINE_URL: "engine:8790" })).toHaveLength(1);
  });

  it("describes what is allowed without showing the value", () => {
    expect(describeAllowed(CONFIG_VARS.AUTH_MODE)).toBe('one of "required", "off"');
    expect(describeAllowed(CONFIG_VARS.REALTIME_FALLBACK_ENGINE)).toBe('one of "native", "workers-ai" (or empty)');
    const problems = configProblems({ LLM_BASE_URL: "ftp://user:secret@llm.example" });
    expect(problems).toHaveLength(1);
    expect(JSON.stringify(problems)).not.toContain("secret");
  });
});
