/** The parts of webvtt-parser (no bundled types) the tests use. */
declare module "webvtt-parser" {
  export interface VttNode {
    type: "text" | "object" | "timestamp";
    name?: string;
    value?: string;
    classes?: string[];
    children?: VttNode[];
  }
  export interface VttCue {
    id: string;
    startTime: number;
    endTime: number;
    text: string;
    tree: { children: VttNode[] };
  }
  export class WebVTTParser {
    constructor(entities?: Record<string, string>);
    parse(input: string, mode?: "metadata" | "chapters"): { cues: VttCue[]; errors: unknown[] };
  }
}
