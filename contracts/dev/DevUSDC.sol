// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title DevUSDC
/// @notice USDC-like development token: 6 decimals, EIP-2612 permit, and a mint open to anyone.
/// @dev For local chains and tests only; never deploy to a public network.
contract DevUSDC is ERC20, ERC20Permit {
    constructor() ERC20("Sluice Dev USD Coin", "dUSDC") ERC20Permit("Sluice Dev USD Coin") {}

    /// @notice Mints tokens to anyone (development only).
    /// @param to Receiver.
    /// @param amount Amount in base units.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice 6 decimals, as USDC.
    /// @return The number of decimals.
    function decimals() public pure override returns (uint8) {
        return 6;
    }
}
