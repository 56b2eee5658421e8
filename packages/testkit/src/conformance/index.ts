export { type ConformanceFixture, conformanceContext, runChannelConformance } from './channel-conformance.ts';
