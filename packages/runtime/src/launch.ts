/**
 * Imported first by every process entry (`import '@omni/runtime/launch'`): before the rest of the
 * process loads, it re-executes itself with the production JavaScriptCore options
 * (`runtime/jsc-options.ts`). Kept apart from the package's index so that nothing else is
 * evaluated before the re-execution.
 */
import { relaunchWithProductionJsc } from './runtime/jsc-options.ts';

relaunchWithProductionJsc();
