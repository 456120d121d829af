// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FeeSwitchToken
/// @notice Test token with a dormant transfer fee its admin can switch on at any time (as USDT on
///         Ethereum can, and as any upgradeable token could add): receivers then get less than was sent.
contract FeeSwitchToken is ERC20 {
    /// @notice Fee on every transfer between two holders, in basis points (0 until switched on).
    uint256 public feeBps;

    constructor() ERC20("Fee Switch", "FSW") {}

    /// @notice Mints tokens to anyone (tests only).
    /// @param to Receiver.
    /// @param amount Amount.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Sets the transfer fee (tests only).
    /// @param bps Fee in basis points.
    function setFee(uint256 bps) external {
        feeBps = bps;
    }

    /// @dev Burns the fee from each transfer between two holders.
    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0) || feeBps == 0) return super._update(from, to, value);
        uint256 fee = value * feeBps / 10_000;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
