// SPDX-License-Identifier: MIT
// settle's own Escrow for tests: the ABI and the semantics of Ocean Protocol's Escrow
// (oceanprotocol/contracts v2.6.0, contracts/escrow/Escrow.sol), written from a description of
// them (summed up in docs/DESIGN.md), not from its code. The router fee
// is left out (zero): the payee receives the whole claimed amount.
pragma solidity ^0.8.20;

interface IERC20Minimal {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

contract Escrow {
    struct funds {
        uint256 available;
        uint256 locked;
    }

    struct auth {
        address payee;
        uint256 maxLockedAmount;
        uint256 currentLockedAmount;
        uint256 maxLockSeconds;
        uint256 maxLockCounts;
        uint256 currentLocks;
    }

    struct lock {
        uint256 jobId;
        address payer;
        address payee;
        uint256 amount;
        uint256 expiry;
        address token;
    }

    mapping(address => mapping(address => funds)) private userFunds;
    mapping(address => address[]) private userTokens;
    mapping(address => mapping(address => auth[])) private userAuths;
    lock[] private locks;
    /// jobId => index in `locks` + 1 (0: no lock), so claims cost the same whatever the number of locks.
    mapping(uint256 => uint256) private lockIndex;

    event Deposit(address indexed payer, address indexed token, uint256 amount);
    event Withdraw(address indexed payer, address indexed token, uint256 amount);
    event Auth(address indexed payer, address indexed payee, uint256 maxLockedAmount, uint256 maxLockSeconds, uint256 maxLockCounts);
    event Lock(address payer, address payee, uint256 jobId, uint256 amount, uint256 expiry, address token);
    event Claimed(address indexed payee, uint256 jobId, address token, address indexed payer, uint256 amount, bytes proof);
    event Canceled(address indexed payee, uint256 jobId, address token, address indexed payer, uint256 amount);

    // ---- payer ----

    function deposit(address token, uint256 amount) public {
        require(token != address(0), "Invalid token");
        require(IERC20Minimal(token).transferFrom(msg.sender, address(this), amount), "Transfer failed");
        _credit(msg.sender, token, amount);
        emit Deposit(msg.sender, token, amount);
    }

    function depositMultiple(address[] calldata tokens, uint256[] calldata amounts) external {
        require(tokens.length == amounts.length, "Invalid input");
        for (uint256 i = 0; i < tokens.length; i++) deposit(tokens[i], amounts[i]);
    }

    function withdraw(address[] calldata tokens, uint256[] calldata amounts) external {
        require(tokens.length == amounts.length, "Invalid input");
        for (uint256 i = 0; i < tokens.length; i++) _withdraw(msg.sender, tokens[i], amounts[i]);
    }

    function authorize(address token, address payee, uint256 maxLockedAmount, uint256 maxLockSeconds, uint256 maxLockCounts) public {
        require(token != address(0), "Invalid token");
        auth[] storage list = userAuths[msg.sender][token];
        for (uint256 i = 0; i < list.length; i++) {
            if (list[i].payee == payee) {
                list[i].maxLockedAmount = maxLockedAmount;
                list[i].maxLockSeconds = maxLockSeconds;
                list[i].maxLockCounts = maxLockCounts;
                emit Auth(msg.sender, payee, maxLockedAmount, maxLockSeconds, maxLockCounts);
                return;
            }
        }
        list.push(auth(payee, maxLockedAmount, 0, maxLockSeconds, maxLockCounts, 0));
        emit Auth(msg.sender, payee, maxLockedAmount, maxLockSeconds, maxLockCounts);
    }

    function authorizeMultiple(
        address[] calldata tokens,
        address[] calldata payees,
        uint256[] calldata maxLockedAmounts,
        uint256[] calldata maxLockSeconds,
        uint256[] calldata maxLockCounts
    ) external {
        require(
            tokens.length == payees.length && tokens.length == maxLockedAmounts.length &&
                tokens.length == maxLockSeconds.length && tokens.length == maxLockCounts.length,
            "Invalid input"
        );
        for (uint256 i = 0; i < tokens.length; i++) authorize(tokens[i], payees[i], maxLockedAmounts[i], maxLockSeconds[i], maxLockCounts[i]);
    }

    // ---- views ----

    function getFunds(address token) external view returns (funds memory) {
        return userFunds[msg.sender][token];
    }

    function getUserFunds(address payer, address token) external view returns (funds memory) {
        return userFunds[payer][token];
    }

    function getUserTokens(address user) external view returns (address[] memory) {
        return userTokens[user];
    }

    /// OR between the three filters, zero being "no filter": callers must filter the result.
    function getLocks(address token, address payer, address payee) external view returns (lock[] memory) {
        uint256 count = 0;
        for (uint256 i = 0; i < locks.length; i++) if (_matchesAny(locks[i], token, payer, payee)) count++;
        lock[] memory out = new lock[](count);
        uint256 j = 0;
        for (uint256 i = 0; i < locks.length; i++) if (_matchesAny(locks[i], token, payer, payee)) out[j++] = locks[i];
        return out;
    }

    function getAuthorizations(address token, address payer, address payee) external view returns (auth[] memory) {
        auth[] storage list = userAuths[payer][token];
        uint256 count = 0;
        for (uint256 i = 0; i < list.length; i++) if (payee == address(0) || list[i].payee == payee) count++;
        auth[] memory out = new auth[](count);
        uint256 j = 0;
        for (uint256 i = 0; i < list.length; i++) if (payee == address(0) || list[i].payee == payee) out[j++] = list[i];
        return out;
    }

    // ---- payee ----

    function createLock(uint256 jobId, address token, address payer, uint256 amount, uint256 expiry) public {
        require(jobId != 0, "Invalid jobId");
        require(payer != address(0), "Invalid payer");
        require(token != address(0), "Invalid token");
        require(lockIndex[jobId] == 0, "JobId already exists");
        auth storage a = _authOf(payer, token, msg.sender);
        require(expiry <= a.maxLockSeconds, "Expiry too high");
        require(a.currentLockedAmount + amount <= a.maxLockedAmount, "Exceeds maxLockedAmount");
        require(a.currentLocks + 1 <= a.maxLockCounts, "Exceeds maxLockCounts");
        funds storage f = userFunds[payer][token];
        require(f.available >= amount, "Payer does not have enough funds");
        f.available -= amount;
        f.locked += amount;
        a.currentLockedAmount += amount;
        a.currentLocks += 1;
        locks.push(lock(jobId, payer, msg.sender, amount, block.timestamp + expiry, token));
        lockIndex[jobId] = locks.length;
        emit Lock(payer, msg.sender, jobId, amount, block.timestamp + expiry, token);
    }

    function createLocks(
        uint256[] calldata jobIds,
        address[] calldata tokens,
        address[] calldata payers,
        uint256[] calldata amounts,
        uint256[] calldata expiry
    ) external {
        require(
            jobIds.length == tokens.length && jobIds.length == payers.length && jobIds.length == amounts.length &&
                jobIds.length == expiry.length,
            "Invalid input"
        );
        for (uint256 i = 0; i < jobIds.length; i++) createLock(jobIds[i], tokens[i], payers[i], amounts[i], expiry[i]);
    }

    function claimLock(uint256 jobId, address token, address payer, uint256 amount, bytes calldata proof) public {
        _claim(jobId, token, payer, amount, proof);
    }

    function claimLocks(
        uint256[] calldata jobId,
        address[] calldata token,
        address[] calldata payer,
        uint256[] calldata amount,
        bytes[] calldata proof
    ) public {
        require(
            jobId.length == token.length && jobId.length == payer.length && jobId.length == amount.length &&
                jobId.length == proof.length,
            "Invalid input"
        );
        for (uint256 i = 0; i < jobId.length; i++) _claim(jobId[i], token[i], payer[i], amount[i], proof[i]);
    }

    function claimLockAndWithdraw(uint256 jobId, address token, address payer, uint256 amount, bytes calldata proof) external {
        _claim(jobId, token, payer, amount, proof);
        _withdrawAll(msg.sender, token);
    }

    function claimLocksAndWithdraw(
        uint256[] calldata jobId,
        address[] calldata token,
        address[] calldata payer,
        uint256[] calldata amount,
        bytes[] calldata proof
    ) external {
        claimLocks(jobId, token, payer, amount, proof);
        for (uint256 i = 0; i < token.length; i++) _withdrawAll(msg.sender, token[i]);
    }

    // ---- anyone ----

    /// Zero values are wildcards; only expired locks are cancelled; never reverts for lack of one.
    function cancelExpiredLock(uint256 jobId, address token, address payer, address payee) public {
        uint256 i = 0;
        while (i < locks.length) {
            lock storage l = locks[i];
            bool matches = (jobId == 0 || l.jobId == jobId) && (token == address(0) || l.token == token) &&
                (payer == address(0) || l.payer == payer) && (payee == address(0) || l.payee == payee);
            if (matches && l.expiry < block.timestamp) {
                _cancel(i);
            } else {
                i++;
            }
        }
    }

    function cancelExpiredLocks(
        uint256[] calldata jobId,
        address[] calldata token,
        address[] calldata payer,
        address[] calldata payee
    ) external {
        require(
            jobId.length == token.length && jobId.length == payer.length && jobId.length == payee.length,
            "Invalid input"
        );
        for (uint256 i = 0; i < jobId.length; i++) cancelExpiredLock(jobId[i], token[i], payer[i], payee[i]);
    }

    // ---- internals ----

    function _claim(uint256 jobId, address token, address payer, uint256 amount, bytes calldata proof) internal {
        uint256 index = _findLock(jobId, token, payer, msg.sender);
        lock memory l = locks[index];
        require(amount <= l.amount, "Amount too high");
        if (l.expiry < block.timestamp) {
            // Too late: the lock is cancelled, not claimed, and the call does not revert.
            _cancel(index);
            return;
        }
        funds storage f = userFunds[payer][token];
        f.locked -= l.amount;
        f.available += l.amount - amount;
        auth storage a = _authOf(payer, token, msg.sender);
        a.currentLockedAmount -= l.amount;
        a.currentLocks -= 1;
        _removeLock(index);
        _credit(msg.sender, token, amount);
        emit Claimed(msg.sender, jobId, token, payer, amount, proof);
    }

    function _cancel(uint256 index) internal {
        lock memory l = locks[index];
        funds storage f = userFunds[l.payer][l.token];
        f.locked -= l.amount;
        f.available += l.amount;
        auth storage a = _authOf(l.payer, l.token, l.payee);
        a.currentLockedAmount -= l.amount;
        a.currentLocks -= 1;
        _removeLock(index);
        emit Canceled(l.payee, l.jobId, l.token, l.payer, l.amount);
    }

    function _findLock(uint256 jobId, address token, address payer, address payee) internal view returns (uint256) {
        uint256 position = lockIndex[jobId];
        require(position != 0, "Lock not found");
        lock storage l = locks[position - 1];
        require(l.token == token && l.payer == payer && l.payee == payee, "Lock not found");
        return position - 1;
    }

    function _authOf(address payer, address token, address payee) internal view returns (auth storage) {
        auth[] storage list = userAuths[payer][token];
        for (uint256 i = 0; i < list.length; i++) if (list[i].payee == payee) return list[i];
        revert("No auth found");
    }

    function _removeLock(uint256 index) internal {
        delete lockIndex[locks[index].jobId];
        uint256 last = locks.length - 1;
        if (index != last) {
            locks[index] = locks[last];
            lockIndex[locks[index].jobId] = index + 1;
        }
        locks.pop();
    }

    function _matchesAny(lock storage l, address token, address payer, address payee) internal view returns (bool) {
        if (token == address(0) && payer == address(0) && payee == address(0)) return true;
        return (token != address(0) && l.token == token) || (payer != address(0) && l.payer == payer) ||
            (payee != address(0) && l.payee == payee);
    }

    function _credit(address user, address token, uint256 amount) internal {
        funds storage f = userFunds[user][token];
        if (f.available == 0 && f.locked == 0) {
            address[] storage tokens = userTokens[user];
            bool known = false;
            for (uint256 i = 0; i < tokens.length; i++) if (tokens[i] == token) known = true;
            if (!known) tokens.push(token);
        }
        f.available += amount;
    }

    function _withdraw(address user, address token, uint256 amount) internal {
        funds storage f = userFunds[user][token];
        require(f.available >= amount, "Not enough available funds");
        f.available -= amount;
        require(IERC20Minimal(token).transfer(user, amount), "Transfer failed");
        emit Withdraw(user, token, amount);
    }

    function _withdrawAll(address user, address token) internal {
        uint256 amount = userFunds[user][token].available;
        if (amount > 0) _withdraw(user, token, amount);
    }
}
