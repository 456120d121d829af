// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SluiceBase} from "./SluiceBase.sol";

/// @title SluicePayments
/// @notice Fee-splitting payments: the payer pays an operator-signed intent once, for its exact amount,
///         and the merchant and every split recipient are paid directly in the same transaction.
contract SluicePayments is SluiceBase {
    /// @notice Emitted once per paid intent, with everything an indexer needs.
    /// @param intentId The intent's on-chain id.
    /// @param payer Who paid.
    /// @param merchant Who received the remainder.
    /// @param token Token paid, address(0) for the native coin.
    /// @param amount Amount paid.
    /// @param merchantAmount Amount the merchant received.
    /// @param feeAmounts Amount each split recipient received, in the intent's split order.
    event Paid(
        bytes32 indexed intentId,
        address indexed payer,
        address indexed merchant,
        address token,
        uint256 amount,
        uint256 merchantAmount,
        uint256[] feeAmounts
    );

    /// @notice Raised when an intent meant for the escrow (reclaim time or partial deposits) is paid here.
    error EscrowOnlyIntent(bytes32 intentId);

    /// @param initialOwner Owner (rotates the signer and the relayer, pauses).
    /// @param initialSigner First intent signer.
    /// @param initialRelayer First relayer.
    /// @param maxFeeBps_ Largest total of splits in basis points.
    constructor(address initialOwner, address initialSigner, address initialRelayer, uint256 maxFeeBps_)
        SluiceBase("Sluice Payments", initialOwner, initialSigner, initialRelayer, maxFeeBps_)
    {}

    /// @notice Pays an intent: ERC-20 (after `approve`) or the native coin (`msg.value` = amount).
    /// @param intent The signed intent.
    /// @param signature An operator signer's EIP-712 signature of the intent.
    function pay(PaymentIntent calldata intent, bytes calldata signature) external payable nonReentrant whenNotPaused {
        _pay(intent, signature);
    }

    /// @notice Pays an ERC-20 intent with an EIP-2612 permit instead of a prior `approve`.
    /// @param intent The signed intent.
    /// @param signature An operator signer's EIP-712 signature of the intent.
    /// @param permitDeadline Deadline of the permit.
    /// @param v Permit signature v.
    /// @param r Permit signature r.
    /// @param s Permit signature s.
    function payWithPermit(
        PaymentIntent calldata intent,
        bytes calldata signature,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant whenNotPaused {
        _permit(intent.token, intent.amount, permitDeadline, v, r, s);
        _pay(intent, signature);
    }

    /// @dev Verifies, consumes the nonce, emits, then moves the funds (checks, effects, interactions).
    function _pay(PaymentIntent calldata intent, bytes calldata signature) private {
        // Check
        if (intent.reclaimAfter != 0 || intent.allowPartial) revert EscrowOnlyIntent(intent.id);
        address token = intent.token;
        uint256 amount = intent.amount;
        _checkValue(token, amount);
        (bytes32 structHash, uint256 totalBps) = _intentStructHash(intent);
        _verifyIntent(intent, signature, structHash, totalBps);
        // Update
        Split[] calldata splits = intent.splits;
        address merchant = intent.merchant;
        (uint256 merchantAmount, uint256[] memory fees) = _shares(splits, amount);
        emit Paid(intent.id, msg.sender, merchant, token, amount, merchantAmount, fees);
        // Transfer
        _distribute(token, token == address(0) ? address(this) : msg.sender, merchant, splits, merchantAmount, fees);
    }
}
