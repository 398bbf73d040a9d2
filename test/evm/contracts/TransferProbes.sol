// SPDX-License-Identifier: MIT
// Contracts that make a destination transfer go wrong, for the EVM transfer sender's tests.
pragma solidity ^0.8.20;

/// Accepts coins until closed; from then on every coin transfer to it reverts.
contract ClosableReceiver {
    bool public closed;

    function close() external {
        closed = true;
    }

    receive() external payable {
        require(!closed, "closed");
    }
}

/// An "ERC-20" whose transfer reports success, moves nothing and logs no Transfer event.
contract SilentToken {
    function balanceOf(address) external pure returns (uint256) {
        return type(uint256).max;
    }

    function transfer(address, uint256) external pure returns (bool) {
        return true;
    }
}
