// The local EVM node the tests start: hardhat's in-process network, served over JSON-RPC.
// No compiler is configured: the contracts are compiled with solc-js by the tests.
module.exports = {
  networks: {
    hardhat: {
      // 31337 unless a test asks for another (a network of Ocean's address book, e.g. base 8453).
      chainId: Number(process.env.SETTLE_HARDHAT_CHAIN_ID || 31337),
      mining: { auto: true },
      accounts: { count: 10 },
    },
  },
};
