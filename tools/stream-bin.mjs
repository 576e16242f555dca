#!/usr/bin/env node
// `edge-transcribe-stream` (package.json "bin"): runs tools/stream.ts through
// tsx's loader in this process, so `npx edge-transcribe-stream …` works from
// anywhere in the repository without a build step. Usage: --help.
import { register } from "tsx/esm/api";

register();
await import(new URL("./stream.ts", import.meta.url).href);
