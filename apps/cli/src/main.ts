#!/usr/bin/env bun
import { runCli } from './cli.ts';

process.exit(
  await runCli(process.argv.slice(2), {
    out: (line) => console.log(line),
    err: (text) => process.stderr.write(text),
    isTty: Boolean(process.stderr.isTTY),
    env: process.env,
  }),
);
