/**
 * The fleet CLI: `npm run fleet -- <command>`; `npm run fleet -- --help` lists the commands,
 * `… <command> --help` one command's options. The commands are in client/cli/ (program.ts).
 */
import { CommanderError, type Command } from 'commander';
import { UsageError } from './cli/common';
import { buildProgram, markdownReference, usage } from './cli/program';

/** Runs the CLI on `argv` (without node and the script): the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  // The README's CLI section is printed from the same definitions.
  program.command('reference', { hidden: true }).action(() => console.log(markdownReference(program)));
  let current: Command = program;
  program.hook('preAction', (_program, action) => {
    current = action;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0; // --help
      console.error(`fleet: ${err.message.replace(/^error: /, '')}\n${usage(current)}`);
      return 2;
    }
    if (err instanceof UsageError) {
      console.error(`fleet: ${err.message}\n${usage(err.command ?? current)}`);
      return 2;
    }
    console.error(`fleet: ${(err as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`fleet: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
