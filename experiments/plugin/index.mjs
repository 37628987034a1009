// The nx plugin entry named in nx.json. nx 23 on Node 20 loads TypeScript plugins only through
// swc-node or ts-node (neither is installed here), so this entry loads plugin.ts with tsx, which the
// workspace already uses to run every script.
import { tsImport } from 'tsx/esm/api';

const plugin = await tsImport('./plugin.ts', import.meta.url);

export const createNodesV2 = plugin.createNodesV2;
