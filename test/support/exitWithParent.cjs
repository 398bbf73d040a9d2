// Preloaded (`node --require`) into a helper process a test starts with a stdin pipe (the hardhat
// node of evmNode.ts): the process exits when that pipe closes, i.e. when whoever started it is
// gone, even if it died of a signal and ran no exit handler. Nothing else reads this stdin.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
