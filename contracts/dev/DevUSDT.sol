// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title DevUSDT
/// @notice USDT-like development token: 6 decimals and `transfer`/`transferFrom`/`approve` that return
///         nothing (as Tether's Ethereum contract), so callers must use SafeERC20. Mint open to anyone.
/// @dev For local chains and tests only; never deploy to a public network.
contract DevUSDT {
    /// @notice Token name.
    string public constant name = "Sluice Dev Tether USD";
    /// @notice Token symbol.
    string public constant symbol = "dUSDT";
    /// @notice Token decimals.
    uint8 public constant decimals = 6;
    /// @notice Total supply.
    uint256 public totalSupply;
    /// @notice Balances.
    mapping(address owner => uint256 amount) public balanceOf;
    /// @notice Allowances.
    mapping(address owner => mapping(address spender => uint256 amount)) public allowance;

    /// @notice ERC-20 transfer event.
    event Transfer(address indexed from, address indexed to, uint256 value);
    /// @notice ERC-20 approval event.
    event Approval(address indexed owner, address indexed spender, uint256 value);

    /// @notice Raised when a balance is too small.
    error InsufficientBalance(address owner, uint256 balance, uint256 needed);
    /// @notice Raised when an allowance is too small.
    error InsufficientAllowance(address spender, uint256 allowance, uint256 needed);

    /// @notice Mints tokens to anyone (development only).
    /// @param to Receiver.
    /// @param amount Amount in base units.
    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    /// @notice Approves a spender; returns nothing, like USDT.
    /// @param spender Spender.
    /// @param amount Allowance.
    function approve(address spender, uint256 amount) external {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
    }

    /// @notice Transfers tokens; returns nothing, like USDT.
    /// @param to Receiver.
    /// @param amount Amount.
    function transfer(address to, uint256 amount) external {
        _move(msg.sender, to, amount);
    }

    /// @notice Transfers tokens on behalf of `from`; returns nothing, like USDT.
    /// @param from Owner.
    /// @param to Receiver.
    /// @param amount Amount.
    function transferFrom(address from, address to, uint256 amount) external {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < amount) revert InsufficientAllowance(msg.sender, allowed, amount);
            allowance[from][msg.sender] = allowed - amount;
        }
        _move(from, to, amount);
    }

    function _move(address from, address to, uint256 amount) private {
        uint256 balance = balanceOf[from];
        if (balance < amount) revert InsufficientBalance(from, balance, amount);
        balanceOf[from] = balance - amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}
