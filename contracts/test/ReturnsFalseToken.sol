// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ReturnsFalseToken
/// @notice Test token whose `transfer` and `transferFrom` return false instead of reverting and move nothing.
contract ReturnsFalseToken {
    /// @notice Token decimals.
    uint8 public constant decimals = 18;
    /// @notice Balances.
    mapping(address owner => uint256 amount) public balanceOf;
    /// @notice Allowances.
    mapping(address owner => mapping(address spender => uint256 amount)) public allowance;

    /// @notice Mints tokens to anyone (tests only).
    /// @param to Receiver.
    /// @param amount Amount.
    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    /// @notice Records an allowance.
    /// @param spender Spender.
    /// @param amount Allowance.
    /// @return Always true.
    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        return true;
    }

    /// @notice Moves nothing and returns false.
    /// @return Always false.
    function transfer(address, uint256) external pure returns (bool) {
        return false;
    }

    /// @notice Moves nothing and returns false.
    /// @return Always false.
    function transferFrom(address, address, uint256) external pure returns (bool) {
        return false;
    }
}
