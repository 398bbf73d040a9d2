// The local EVM node the tests start: hardhat's in-process network, served over JSON-RPC.
// No compiler is configured: the contracts are compiled with solc-js by the tests.
module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      mining: { auto: true },
      accounts: { count: 10 },
    },
  },
};
