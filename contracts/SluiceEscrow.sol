// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SluiceBase} from "./SluiceBase.sol";

/// @title SluiceEscrow
/// @notice Authorize-and-capture payments: the payer deposits an operator-signed intent's amount, the
///         operator or merchant captures it (partially, several times; splits paid at capture), and
///         whatever is not captured can only go back to the payer (refund, void, or reclaim after
///         the reclaim time).
/// @dev Invariant per intent: captured + refunded + released (voided or reclaimed) <= deposited.
contract SluiceEscrow is SluiceBase {
    /// @notice Lifecycle of one escrow.
    enum Status {
        /// @notice Never deposited.
        None,
        /// @notice Funded; capture, refund, further deposits possible.
        Open,
        /// @notice Closed by the operator or merchant; the rest went back to the payer.
        Voided,
        /// @notice Closed by the payer after the reclaim time; the rest went back to the payer.
        Reclaimed
    }

    /// @notice State of one intent's escrow.
    struct Escrow {
        /// @notice EIP-712 struct hash of the intent; later calls must present the same intent.
        bytes32 intentHash;
        /// @notice The payer; the only address refunds ever go to.
        address payer;
        /// @notice Lifecycle status.
        Status status;
        /// @notice Total deposited.
        uint128 deposited;
        /// @notice Total captured (merchant and splits).
        uint128 captured;
        /// @notice Total refunded while open.
        uint128 refunded;
        /// @notice Amount returned when the escrow was voided or reclaimed.
        uint128 released;
    }

    /// @notice Escrow state per intent id.
    mapping(bytes32 intentId => Escrow) private _escrows;

    /// @notice Emitted for each deposit.
    /// @param intentId The intent's on-chain id.
    /// @param payer Who deposited.
    /// @param token Token deposited, address(0) for the native coin.
    /// @param amount Amount of this deposit.
    /// @param totalDeposited Total deposited so far.
    event Deposited(
        bytes32 indexed intentId, address indexed payer, address token, uint256 amount, uint256 totalDeposited
    );
    /// @notice Emitted for each capture.
    /// @param intentId The intent's on-chain id.
    /// @param merchant Who received the remainder.
    /// @param amount Amount captured by this call.
    /// @param merchantAmount Amount the merchant received.
    /// @param feeAmounts Amount each split recipient received, in split order.
    /// @param totalCaptured Total captured so far.
    event Captured(
        bytes32 indexed intentId,
        address indexed merchant,
        uint256 amount,
        uint256 merchantAmount,
        uint256[] feeAmounts,
        uint256 totalCaptured
    );
    /// @notice Emitted when part of the uncaptured balance is refunded to the payer.
    /// @param intentId The intent's on-chain id.
    /// @param payer Who received the refund.
    /// @param amount Amount refunded.
    /// @param totalRefunded Total refunded so far.
    event Refunded(bytes32 indexed intentId, address indexed payer, uint256 amount, uint256 totalRefunded);
    /// @notice Emitted when the operator or merchant voids the escrow, returning the rest to the payer.
    /// @param intentId The intent's on-chain id.
    /// @param payer Who received the rest.
    /// @param amount Amount returned.
    event Voided(bytes32 indexed intentId, address indexed payer, uint256 amount);
    /// @notice Emitted when the payer reclaims the rest after the reclaim time.
    /// @param intentId The intent's on-chain id.
    /// @param payer Who reclaimed.
    /// @param amount Amount returned.
    event Reclaimed(bytes32 indexed intentId, address indexed payer, uint256 amount);

    /// @notice Raised when the amount deposited does not match what the intent allows.
    error WrongAmount(bytes32 intentId, uint256 expected, uint256 actual);
    /// @notice Raised when the presented intent is not the one the escrow was opened with.
    error IntentMismatch(bytes32 intentId);
    /// @notice Raised when the escrow is not open (never funded, voided or reclaimed).
    error EscrowNotOpen(bytes32 intentId, Status status);
    /// @notice Raised when an amount exceeds the uncaptured balance.
    error InsufficientBalance(bytes32 intentId, uint256 available, uint256 requested);
    /// @notice Raised when the caller is neither a signer nor the intent's merchant.
    error NotOperatorOrMerchant(address caller);
    /// @notice Raised when the caller is not the escrow's payer.
    error NotPayer(bytes32 intentId, address payer, address caller);
    /// @notice Raised on a capture at or after the reclaim time.
    error CaptureWindowClosed(bytes32 intentId, uint256 reclaimAfter, uint256 timestamp);
    /// @notice Raised on a reclaim before the reclaim time.
    error ReclaimTooEarly(bytes32 intentId, uint256 reclaimAfter, uint256 timestamp);
    /// @notice Raised when the reclaim time is not after the deadline.
    error InvalidReclaimTime(bytes32 intentId, uint256 deadline, uint256 reclaimAfter);
    /// @notice Raised when an intent's amount does not fit the escrow's 128-bit accounting.
    error AmountTooLarge(uint256 amount);

    /// @param initialOwner Owner (rotates signers, pauses).
    /// @param initialSigner First operator signer.
    /// @param maxFeeBps_ Largest total of splits in basis points.
    constructor(address initialOwner, address initialSigner, uint256 maxFeeBps_)
        SluiceBase("Sluice Escrow", initialOwner, initialSigner, maxFeeBps_)
    {}

    // -------------------------------------------------------------- external

    /// @notice Deposits into an intent's escrow: ERC-20 (after `approve`) or native (`msg.value` = amount).
    /// @param intent The signed intent.
    /// @param signature An operator signer's EIP-712 signature (checked on the first deposit).
    /// @param amount Amount of this deposit: the intent's amount, or part of it when partial deposits are allowed.
    function deposit(PaymentIntent calldata intent, bytes calldata signature, uint256 amount)
        external
        payable
        nonReentrant
        whenNotPaused
    {
        _deposit(intent, signature, amount);
    }

    /// @notice Deposits an ERC-20 intent with an EIP-2612 permit instead of a prior `approve`.
    /// @param intent The signed intent.
    /// @param signature An operator signer's EIP-712 signature (checked on the first deposit).
    /// @param amount Amount of this deposit.
    /// @param permitDeadline Deadline of the permit.
    /// @param v Permit signature v.
    /// @param r Permit signature r.
    /// @param s Permit signature s.
    function depositWithPermit(
        PaymentIntent calldata intent,
        bytes calldata signature,
        uint256 amount,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant whenNotPaused {
        _permit(intent.token, amount, permitDeadline, v, r, s);
        _deposit(intent, signature, amount);
    }

    /// @notice Captures part or all of the uncaptured balance; the splits are paid from it.
    /// @param intent The intent the escrow was opened with.
    /// @param amount Amount to capture.
    function capture(PaymentIntent calldata intent, uint256 amount) external nonReentrant whenNotPaused {
        // Check
        Escrow storage e = _openEscrow(intent);
        _onlyOperatorOrMerchant(intent.merchant);
        if (block.timestamp >= intent.reclaimAfter) {
            revert CaptureWindowClosed(intent.id, intent.reclaimAfter, block.timestamp);
        }
        _checkAvailable(e, intent.id, amount);
        // Update
        uint128 total = e.captured + uint128(amount);
        e.captured = total;
        (uint256 merchantAmount, uint256[] memory fees) = _shares(intent.splits, amount);
        emit Captured(intent.id, intent.merchant, amount, merchantAmount, fees, total);
        // Transfer
        _distribute(intent.token, address(this), intent.merchant, intent.splits, merchantAmount, fees);
    }

    /// @notice Refunds part of the uncaptured balance to the payer; the escrow stays open.
    /// @param intent The intent the escrow was opened with.
    /// @param amount Amount to refund.
    function refund(PaymentIntent calldata intent, uint256 amount) external nonReentrant {
        // Check
        Escrow storage e = _openEscrow(intent);
        _onlyOperatorOrMerchant(intent.merchant);
        _checkAvailable(e, intent.id, amount);
        // Update
        uint128 total = e.refunded + uint128(amount);
        e.refunded = total;
        address payer = e.payer;
        emit Refunded(intent.id, payer, amount, total);
        // Transfer
        _send(intent.token, address(this), payer, amount, true);
    }

    /// @notice Closes the escrow and returns the whole uncaptured balance to the payer.
    /// @param intent The intent the escrow was opened with.
    function void(PaymentIntent calldata intent) external nonReentrant {
        // Check
        Escrow storage e = _openEscrow(intent);
        _onlyOperatorOrMerchant(intent.merchant);
        // Update
        uint256 rest = _available(e);
        e.status = Status.Voided;
        e.released = uint128(rest);
        address payer = e.payer;
        emit Voided(intent.id, payer, rest);
        // Transfer
        _send(intent.token, address(this), payer, rest, true);
    }

    /// @notice Lets the payer take back the uncaptured balance once the reclaim time has come.
    /// @param intent The intent the escrow was opened with.
    function reclaim(PaymentIntent calldata intent) external nonReentrant {
        // Check
        Escrow storage e = _openEscrow(intent);
        address payer = e.payer;
        if (msg.sender != payer) revert NotPayer(intent.id, payer, msg.sender);
        if (block.timestamp < intent.reclaimAfter) {
            revert ReclaimTooEarly(intent.id, intent.reclaimAfter, block.timestamp);
        }
        // Update
        uint256 rest = _available(e);
        e.status = Status.Reclaimed;
        e.released = uint128(rest);
        emit Reclaimed(intent.id, payer, rest);
        // Transfer
        _send(intent.token, address(this), payer, rest, true);
    }

    // ------------------------------------------------------------------ view

    /// @notice The escrow state of an intent.
    /// @param intentId The intent's on-chain id.
    /// @return escrow Its state (all zero when never deposited).
    function getEscrow(bytes32 intentId) external view returns (Escrow memory escrow) {
        return _escrows[intentId];
    }

    /// @notice The uncaptured balance that can still be captured or refunded.
    /// @param intentId The intent's on-chain id.
    /// @return amount Zero unless the escrow is open.
    function capturable(bytes32 intentId) external view returns (uint256 amount) {
        Escrow storage e = _escrows[intentId];
        return e.status == Status.Open ? _available(e) : 0;
    }

    // -------------------------------------------------------------- internal

    /// @dev First deposit verifies the signature and opens the escrow; later ones must match it.
    function _deposit(PaymentIntent calldata intent, bytes calldata signature, uint256 amount) private {
        // Check
        _checkValue(intent.token, amount);
        if (amount == 0) revert ZeroAmount();
        // The intent's amount bounds every total, so checking it keeps all 128-bit counters exact.
        if (intent.amount > type(uint128).max) revert AmountTooLarge(intent.amount);
        Escrow storage e = _escrows[intent.id];
        uint256 total;
        if (e.status == Status.None) {
            if (intent.reclaimAfter <= intent.deadline) {
                revert InvalidReclaimTime(intent.id, intent.deadline, intent.reclaimAfter);
            }
            bytes32 structHash = _verifyIntent(intent, signature);
            total = amount;
            if (intent.allowPartial ? amount > intent.amount : amount != intent.amount) {
                revert WrongAmount(intent.id, intent.amount, amount);
            }
            // Update
            e.intentHash = structHash;
            e.payer = msg.sender;
            e.status = Status.Open;
        } else {
            if (e.status != Status.Open) revert EscrowNotOpen(intent.id, e.status);
            (bytes32 structHash,) = _intentStructHash(intent);
            if (e.intentHash != structHash) revert IntentMismatch(intent.id);
            if (msg.sender != e.payer) revert NotPayer(intent.id, e.payer, msg.sender);
            if (block.timestamp > intent.deadline) revert IntentExpired(intent.id, intent.deadline, block.timestamp);
            total = e.deposited + amount;
            if (total > intent.amount) revert WrongAmount(intent.id, intent.amount - e.deposited, amount);
        }
        e.deposited = uint128(total);
        emit Deposited(intent.id, msg.sender, intent.token, amount, total);
        // Transfer
        if (intent.token != address(0)) _send(intent.token, msg.sender, address(this), amount, true);
    }

    /// @dev The open escrow of a presented intent; reverts when closed or when the intent differs.
    function _openEscrow(PaymentIntent calldata intent) private view returns (Escrow storage e) {
        e = _escrows[intent.id];
        if (e.status != Status.Open) revert EscrowNotOpen(intent.id, e.status);
        (bytes32 structHash,) = _intentStructHash(intent);
        if (e.intentHash != structHash) revert IntentMismatch(intent.id);
    }

    /// @dev Only an operator signer or the intent's merchant may capture, refund or void.
    function _onlyOperatorOrMerchant(address merchant) private view {
        if (msg.sender != merchant && !isSigner(msg.sender)) revert NotOperatorOrMerchant(msg.sender);
    }

    /// @dev Reverts unless 0 < amount <= the uncaptured balance.
    function _checkAvailable(Escrow storage e, bytes32 intentId, uint256 amount) private view {
        if (amount == 0) revert ZeroAmount();
        uint256 available = _available(e);
        if (amount > available) revert InsufficientBalance(intentId, available, amount);
    }

    /// @dev Deposited minus captured minus refunded.
    function _available(Escrow storage e) private view returns (uint256) {
        return uint256(e.deposited) - e.captured - e.refunded;
    }
}
