// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Pausable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Pausable.sol";

/// @title PausableToken
/// @notice Test token whose admin can stop every transfer (as USDC, USDT and many others can).
contract PausableToken is ERC20Pausable {
    constructor() ERC20("Pausable", "PAU") {}

    /// @notice Mints tokens to anyone (tests only).
    /// @param to Receiver.
    /// @param amount Amount.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Stops every transfer (tests only).
    function pause() external {
        _pause();
    }

    /// @notice Lets transfers through again (tests only).
    function unpause() external {
        _unpause();
    }
}
