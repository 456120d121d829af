// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ReentrantToken
/// @notice Test token that, on each transfer, calls back into a target with prepared calldata
///         (for example a second capture or pay) and records whether the call went through.
contract ReentrantToken is ERC20 {
    /// @notice Contract to call back into.
    address public target;
    /// @notice Calldata of the call back.
    bytes public attack;
    /// @notice How many call backs succeeded.
    uint256 public reentrySucceeded;
    /// @notice How many call backs were attempted.
    uint256 public reentryAttempted;
    bool private _inAttack;

    constructor() ERC20("Reentrant", "REE") {}

    /// @notice Mints tokens to anyone (tests only).
    /// @param to Receiver.
    /// @param amount Amount.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Arms the token: every transfer calls `target` with `data` once.
    /// @param target_ Contract to call back into.
    /// @param data Calldata of the call back.
    function arm(address target_, bytes calldata data) external {
        target = target_;
        attack = data;
    }

    /// @notice Lets the token spend its own balance via an allowance (for attacks that pay).
    /// @param spender Spender.
    /// @param amount Allowance.
    function approveFromToken(address spender, uint256 amount) external {
        _approve(address(this), spender, amount);
    }

    /// @dev Calls back on every transfer between holders; the outcome is recorded, not bubbled up.
    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (target != address(0) && !_inAttack && from != address(0) && to != address(0)) {
            _inAttack = true;
            reentryAttempted += 1;
            (bool ok,) = target.call(attack);
            if (ok) reentrySucceeded += 1;
            _inAttack = false;
        }
    }
}
