/** Building blocks of the document's responses: references to the schemas of ../schemas.ts and the shared error answers. */
import { CAPTION_RULES } from "../../exports/captions";
import { CONTENT_TYPES } from "../../exports/export";

export const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
export const json = (id: string, description: string) => ({ description, content: { "application/json": { schema: ref(id) } } });
export const error = (description: string) => json("Error", description);
/** 401/403 of a route behind `requireAuth(scope)` (AUTH_MODE=required). */
export const authErrors = (scope: string) => ({
  "401": error("Missing, invalid, revoked or already used credentials."),
  "403": error(`The key lacks the \`${scope}\` scope.`),
});

/** 200 bodies of a download: the JSON document, or SRT / WebVTT / text. */
export const download = (jsonSchema: Record<string, unknown>, description: string) => ({
  description: `${description} With \`format\`: \`Content-Disposition: attachment\`. Captions: at most ${CAPTION_RULES.maxLines} lines of ${CAPTION_RULES.maxLineChars} characters and ${CAPTION_RULES.maxSeconds} s per cue, never across speakers; names as WebVTT voice spans and SRT/text prefixes.`,
  content: {
    [CONTENT_TYPES.json.split(";")[0]!]: { schema: jsonSchema },
    [CONTENT_TYPES.srt.split(";")[0]!]: { schema: { type: "string" } },
    [CONTENT_TYPES.vtt.split(";")[0]!]: { schema: { type: "string" } },
    [CONTENT_TYPES.txt.split(";")[0]!]: { schema: { type: "string" } },
  },
});
