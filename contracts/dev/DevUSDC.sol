// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title DevUSDC
/// @notice USDC-like development token: 6 decimals, EIP-2612 permit, EIP-3009 `receiveWithAuthorization`
///         (as USDC has it), and a mint open to anyone.
/// @dev For local chains and tests only; never deploy to a public network.
contract DevUSDC is ERC20, ERC20Permit {
    /// @notice EIP-712 type hash of an EIP-3009 receive authorization.
    bytes32 public constant RECEIVE_WITH_AUTHORIZATION_TYPEHASH = keccak256(
        "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );

    /// @notice Whether an authorizer's nonce was used.
    mapping(address authorizer => mapping(bytes32 nonce => bool used)) public authorizationState;

    /// @notice Emitted when an authorization is used.
    /// @param authorizer Who signed it.
    /// @param nonce Its nonce.
    event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce);

    /// @notice Raised when the caller is not the authorization's payee.
    error CallerMustBePayee(address caller, address payee);
    /// @notice Raised outside the authorization's validity window.
    error AuthorizationNotValid(uint256 validAfter, uint256 validBefore, uint256 timestamp);
    /// @notice Raised when the nonce was used before.
    error AuthorizationUsedOrCanceled(address authorizer, bytes32 nonce);
    /// @notice Raised when the signature is not the authorizer's.
    error InvalidAuthorizationSignature(address authorizer);

    constructor() ERC20("Sluice Dev USD Coin", "dUSDC") ERC20Permit("Sluice Dev USD Coin") {}

    /// @notice Mints tokens to anyone (development only).
    /// @param to Receiver.
    /// @param amount Amount in base units.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice EIP-3009: moves `value` from `from` to the caller, which must be `to`, with `from`'s signature.
    /// @param from Payer (signer of the authorization).
    /// @param to Payee; must be the caller, so nobody can front-run the authorization elsewhere.
    /// @param value Amount.
    /// @param validAfter Valid only after this time.
    /// @param validBefore Valid only before this time.
    /// @param nonce Unique nonce chosen by the payer.
    /// @param v Signature v.
    /// @param r Signature r.
    /// @param s Signature s.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        if (to != msg.sender) revert CallerMustBePayee(msg.sender, to);
        if (block.timestamp <= validAfter || block.timestamp >= validBefore) {
            revert AuthorizationNotValid(validAfter, validBefore, block.timestamp);
        }
        if (authorizationState[from][nonce]) revert AuthorizationUsedOrCanceled(from, nonce);
        bytes32 structHash = keccak256(
            abi.encode(RECEIVE_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce)
        );
        if (ECDSA.recover(_hashTypedDataV4(structHash), v, r, s) != from) revert InvalidAuthorizationSignature(from);
        authorizationState[from][nonce] = true;
        emit AuthorizationUsed(from, nonce);
        _transfer(from, to, value);
    }

    /// @notice 6 decimals, as USDC.
    /// @return The number of decimals.
    function decimals() public pure override returns (uint8) {
        return 6;
    }
}
