/** An e2e suite's own local stack (for vars of its own, or restarts), on free ports and quiet. */
import { findFreePort } from "../../tools/stack/redis";
import { startStack, type Stack } from "../../tools/stack/stack";

export async function startOwnStack(vars: Record<string, string>): Promise<Stack> {
  return startStack({ port: await findFreePort(), redisPort: 0, bridgePort: 0, emulatorPort: 0, vars, log: () => undefined });
}
