/**
 * The Escrow ABI the adapter uses: the functions, views and events of Ocean Protocol's Escrow
 * (contracts/escrow/Escrow.sol), as human-readable fragments. A test checks each one against
 * the ABI compiled from the project's test contract.
 */
export const ESCROW_ABI = [
  'function getLocks(address token, address payer, address payee) view returns (tuple(uint256 jobId, address payer, address payee, uint256 amount, uint256 expiry, address token)[])',
  'function claimLocks(uint256[] jobId, address[] token, address[] payer, uint256[] amount, bytes[] proof)',
  'function cancelExpiredLocks(uint256[] jobId, address[] token, address[] payer, address[] payee)',
  'event Claimed(address indexed payee, uint256 jobId, address token, address indexed payer, uint256 amount, bytes proof)',
  'event Canceled(address indexed payee, uint256 jobId, address token, address indexed payer, uint256 amount)',
] as const;

export const ERC20_DECIMALS_ABI = ['function decimals() view returns (uint8)'] as const;
