/**
 * The contracts of test/evm/contracts/TransferProbes.sol (a coin receiver that can be made to
 * revert, a token that moves nothing), compiled (and cached) by compileSolidity.
 */
import { type Contract, ContractFactory, type Wallet } from 'ethers';
import { compileSolidity } from './compileContracts.ts';

type ProbeName = 'ClosableReceiver' | 'SilentToken';

export async function deployProbe(name: ProbeName, deployer: Wallet): Promise<Contract> {
  const { abi, bytecode } = compileSolidity(['TransferProbes.sol'])[name]!;
  return (await (await new ContractFactory(abi as never, bytecode, deployer).deploy()).waitForDeployment()) as Contract;
}
