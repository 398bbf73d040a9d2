// SPDX-License-Identifier: MIT
// An ERC-20 for the tests with the issuer powers allways' validators read for a no-fault cancel:
// a pause (USDC's paused()), a blacklist (USDC's isBlacklisted(address)), a freeze (PAX Gold's
// isFrozen(address)) and a transfer fee (PAX Gold's getFeeFor(uint256)). Each power is enforced
// by transfer() as the real tokens enforce it, so a payout that ignores a check really fails or
// really pays short. Anyone may mint; only the issuer (the deployer) uses the powers.
pragma solidity ^0.8.20;

contract IssuerToken {
    uint8 public immutable decimals;
    address public immutable issuer;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    bool public paused;
    mapping(address => bool) public isBlacklisted;
    mapping(address => bool) public isFrozen;
    /** Fee in hundredths of a percent of each transfer, paid to the issuer. */
    uint256 public feeBasisPoints;

    event Transfer(address indexed from, address indexed to, uint256 value);

    constructor(uint8 decimals_) {
        decimals = decimals_;
        issuer = msg.sender;
    }

    modifier onlyIssuer() {
        require(msg.sender == issuer, "not the issuer");
        _;
    }

    function setPaused(bool value) external onlyIssuer {
        paused = value;
    }

    function setBlacklisted(address account, bool value) external onlyIssuer {
        isBlacklisted[account] = value;
    }

    function setFrozen(address account, bool value) external onlyIssuer {
        isFrozen[account] = value;
    }

    function setFeeBasisPoints(uint256 value) external onlyIssuer {
        require(value <= 10000, "fee over 100%");
        feeBasisPoints = value;
    }

    function getFeeFor(uint256 value) public view returns (uint256) {
        return (value * feeBasisPoints) / 10000;
    }

    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        require(!paused, "paused");
        require(!isBlacklisted[msg.sender] && !isBlacklisted[to], "blacklisted");
        require(!isFrozen[msg.sender] && !isFrozen[to], "frozen");
        require(balanceOf[msg.sender] >= amount, "balance too low");
        uint256 fee = getFeeFor(amount);
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount - fee;
        emit Transfer(msg.sender, to, amount - fee);
        if (fee > 0) {
            balanceOf[issuer] += fee;
            emit Transfer(msg.sender, issuer, fee);
        }
        return true;
    }
}
