// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title BlocklistToken
/// @notice Test token that refuses transfers to or from blocklisted addresses (as USDC and USDT can).
contract BlocklistToken is ERC20 {
    /// @notice Blocklisted addresses.
    mapping(address account => bool blocked) public blocked;

    /// @notice Raised when a blocklisted address sends or receives.
    error Blocklisted(address account);

    constructor() ERC20("Blocklist", "BLK") {}

    /// @notice Mints tokens to anyone (tests only).
    /// @param to Receiver.
    /// @param amount Amount.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Adds or removes an address from the blocklist (tests only).
    /// @param account Address.
    /// @param value Whether it is blocked.
    function setBlocked(address account, bool value) external {
        blocked[account] = value;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blocked[from]) revert Blocklisted(from);
        if (blocked[to]) revert Blocklisted(to);
        super._update(from, to, value);
    }
}
