import { LlmOutputError } from "./types";

/**
 * Parses a model's text answer as JSON. Tolerates a Markdown code fence around
 * it (some models add one even in JSON mode); anything else that is not JSON
 * throws {@link LlmOutputError}.
 */
export function parseJsonContent(engine: string, content: unknown): unknown {
  if (typeof content !== "string") {
    if (content !== null && typeof content === "object") return content;
    throw new LlmOutputError(`${engine}: the answer has no text content`);
  }
  const fenced = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/i.exec(content);
  const text = fenced ? fenced[1]! : content;
  try {
    return JSON.parse(text);
  } catch {
    throw new LlmOutputError(`${engine}: the answer is not JSON (${text.length} characters)`);
  }
}
