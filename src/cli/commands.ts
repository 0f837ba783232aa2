import type { RegisterCommand } from './context.js';

// One line per subcommand; each lives in its own file under src/cli/.
export const commands: RegisterCommand[] = [
];
