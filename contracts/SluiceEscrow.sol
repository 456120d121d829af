// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {SluiceBase} from "./SluiceBase.sol";

/// @title SluiceEscrow
/// @notice Authorize-and-capture payments: the payer deposits an operator-signed intent's amount, the
///         relayer or merchant captures it (partially, several times; splits paid at capture), and
///         whatever is not captured can only go back to the payer (refund, void, or reclaim after
///         the reclaim time). A payout the token or the receiver refuses never blocks the others: it
///         is credited as a claimable balance its owner withdraws to any address they choose.
/// @dev Invariant per escrow: captured + refunded + released (voided or reclaimed) <= deposited.
///      An escrow is keyed by the EIP-712 struct hash of its intent with the payer field set to the
///      address that deposited (the intent as signed when it names its payer), so one storage slot
///      holds all of it and every later call presents that completed intent.
contract SluiceEscrow is SluiceBase {
    using SafeERC20 for IERC20;

    /// @notice Lifecycle of one escrow.
    enum Status {
        /// @notice Never deposited.
        None,
        /// @notice Funded; capture, refund, further deposits possible.
        Open,
        /// @notice Closed by the relayer or merchant; the rest went back to the payer.
        Voided,
        /// @notice Closed by the payer after the reclaim time; the rest went back to the payer.
        Reclaimed
    }

    /// @notice State of one escrow, packed into one storage slot.
    struct Escrow {
        /// @notice While open: deposited - captured - refunded. Once closed: the amount released to the payer.
        uint120 balance;
        /// @notice Total captured (merchant and splits).
        uint120 captured;
        /// @notice Lifecycle status.
        Status status;
    }

    /// @notice An escrow as `getEscrow` reports it.
    struct EscrowView {
        /// @notice The escrow's key: struct hash of the intent completed with its payer.
        bytes32 key;
        /// @notice The payer; the only address refunds ever go to.
        address payer;
        /// @notice Lifecycle status.
        Status status;
        /// @notice Total deposited.
        uint256 deposited;
        /// @notice Total captured (merchant and splits).
        uint256 captured;
        /// @notice Total refunded while open.
        uint256 refunded;
        /// @notice Amount returned when the escrow was voided or reclaimed.
        uint256 released;
    }

    /// @notice EIP-712 type hash of a claim signed by the owner of a claimable balance.
    bytes32 public constant CLAIM_TYPEHASH =
        keccak256("Claim(address account,address token,address to,uint256 nonce,uint256 deadline)");

    /// @dev Escrow state per key.
    mapping(bytes32 key => Escrow) private _escrows;
    /// @dev Total refunded per key, written only by refunds (so deposits and captures never pay for it).
    mapping(bytes32 key => uint256 amount) private _refunded;
    /// @notice Payouts that could not be pushed (token or receiver refused), per token and owner.
    mapping(address token => mapping(address account => uint256 amount)) public claimable;
    /// @notice Next nonce of each account's signed claims.
    mapping(address account => uint256 nonce) public claimNonces;

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
    /// @notice Emitted when the relayer or merchant voids the escrow, returning the rest to the payer.
    /// @param intentId The intent's on-chain id.
    /// @param payer Who received the rest.
    /// @param amount Amount returned.
    event Voided(bytes32 indexed intentId, address indexed payer, uint256 amount);
    /// @notice Emitted when the payer reclaims the rest after the reclaim time.
    /// @param intentId The intent's on-chain id.
    /// @param payer Who reclaimed.
    /// @param amount Amount returned.
    event Reclaimed(bytes32 indexed intentId, address indexed payer, uint256 amount);
    /// @notice Emitted when a payout was refused (by the token or the receiver) and credited instead.
    /// @param intentId The intent's on-chain id.
    /// @param recipient Who is owed the amount and can claim it.
    /// @param token Token owed, address(0) for the native coin.
    /// @param amount Amount credited.
    event PushFailed(bytes32 indexed intentId, address indexed recipient, address token, uint256 amount);
    /// @notice Emitted when a claimable balance is withdrawn.
    /// @param account Whose balance it was.
    /// @param token Token withdrawn, address(0) for the native coin.
    /// @param to Where it was sent.
    /// @param amount Amount withdrawn.
    event Claimed(address indexed account, address indexed token, address to, uint256 amount);

    /// @notice Raised when the amount deposited does not match what the intent allows.
    error WrongAmount(bytes32 intentId, uint256 expected, uint256 actual);
    /// @notice Raised when the escrow is not open (never funded, voided or reclaimed), or when the
    ///         presented intent (completed with its payer) is not the one an escrow was opened with.
    error EscrowNotOpen(bytes32 intentId, Status status);
    /// @notice Raised when an amount exceeds the uncaptured balance.
    error InsufficientBalance(bytes32 intentId, uint256 available, uint256 requested);
    /// @notice Raised when the caller is neither the relayer nor the intent's merchant.
    error NotRelayerOrMerchant(address caller);
    /// @notice Raised when the caller is not the escrow's payer.
    error NotPayer(bytes32 intentId, address payer, address caller);
    /// @notice Raised on a capture at or after the reclaim time.
    error CaptureWindowClosed(bytes32 intentId, uint256 reclaimAfter, uint256 timestamp);
    /// @notice Raised on a reclaim before the reclaim time.
    error ReclaimTooEarly(bytes32 intentId, uint256 reclaimAfter, uint256 timestamp);
    /// @notice Raised when the reclaim time is not after the deadline.
    error InvalidReclaimTime(bytes32 intentId, uint256 deadline, uint256 reclaimAfter);
    /// @notice Raised when an intent's amount does not fit the escrow's 120-bit accounting.
    error AmountTooLarge(uint256 amount);
    /// @notice Raised when an intent allowing partial deposits names no payer (anyone could take it over).
    error PayerRequired(bytes32 intentId);
    /// @notice Raised when there is nothing to claim.
    error NothingToClaim(address token, address account);
    /// @notice Raised when a signed claim has expired.
    error ClaimExpired(uint256 deadline, uint256 timestamp);
    /// @notice Raised when a claim's signature is not the account's.
    error InvalidClaimSignature(address account);

    /// @param initialOwner Owner (rotates the signer and the relayer, pauses).
    /// @param initialSigner First intent signer.
    /// @param initialRelayer First relayer (captures, refunds, voids).
    /// @param maxFeeBps_ Largest total of splits in basis points.
    constructor(address initialOwner, address initialSigner, address initialRelayer, uint256 maxFeeBps_)
        SluiceBase("Sluice Escrow", initialOwner, initialSigner, initialRelayer, maxFeeBps_)
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

    /// @notice Captures part or all of the uncaptured balance; the splits are paid from it. Open during a
    ///         pause: it only pays the signed merchant and splits, and a pause must not hand the payer a
    ///         reclaim the merchant was kept from preventing.
    /// @dev Each split's fee is computed on the running captured total (its share of the new total less
    ///      its share of the previous one), so capturing in small pieces pays the same fees as at once.
    /// @param intent The intent the escrow was opened with, completed with its payer.
    /// @param amount Amount to capture.
    function capture(PaymentIntent calldata intent, uint256 amount) external nonReentrant {
        // Check
        Escrow storage e = _openEscrow(intent);
        _onlyRelayerOrMerchant(intent.merchant);
        if (block.timestamp >= intent.reclaimAfter) {
            revert CaptureWindowClosed(intent.id, intent.reclaimAfter, block.timestamp);
        }
        uint256 balance = _checkAvailable(e, intent.id, amount);
        // Update
        uint256 before = e.captured;
        uint256 total = before + amount;
        e.balance = uint120(balance - amount);
        e.captured = uint120(total);
        Split[] calldata splits = intent.splits;
        uint256 merchantAmount = amount;
        uint256[] memory fees = new uint256[](splits.length);
        for (uint256 i; i < splits.length; ++i) {
            uint256 bps = splits[i].bps;
            uint256 fee = total * bps / BPS - before * bps / BPS;
            // Roundings of several splits can coincide on a tiny capture; never take more than it.
            if (fee > merchantAmount) fee = merchantAmount;
            fees[i] = fee;
            merchantAmount -= fee;
        }
        emit Captured(intent.id, intent.merchant, amount, merchantAmount, fees, total);
        // Transfer
        address token = intent.token;
        _pushOrCredit(intent.id, token, intent.merchant, merchantAmount);
        for (uint256 i; i < splits.length; ++i) {
            _pushOrCredit(intent.id, token, splits[i].recipient, fees[i]);
        }
    }

    /// @notice Refunds part of the uncaptured balance to the payer; the escrow stays open.
    /// @param intent The intent the escrow was opened with, completed with its payer.
    /// @param amount Amount to refund.
    function refund(PaymentIntent calldata intent, uint256 amount) external nonReentrant {
        // Check
        (Escrow storage e, bytes32 key) = _openEscrowKeyed(intent);
        _onlyRelayerOrMerchant(intent.merchant);
        uint256 balance = _checkAvailable(e, intent.id, amount);
        // Update
        e.balance = uint120(balance - amount);
        uint256 total = _refunded[key] + amount;
        _refunded[key] = total;
        emit Refunded(intent.id, intent.payer, amount, total);
        // Transfer
        _pushOrCredit(intent.id, intent.token, intent.payer, amount);
    }

    /// @notice Closes the escrow and returns the whole uncaptured balance to the payer.
    /// @param intent The intent the escrow was opened with, completed with its payer.
    function void(PaymentIntent calldata intent) external nonReentrant {
        // Check
        Escrow storage e = _openEscrow(intent);
        _onlyRelayerOrMerchant(intent.merchant);
        // Update (the balance stays: once closed it records what was released)
        e.status = Status.Voided;
        uint256 rest = e.balance;
        emit Voided(intent.id, intent.payer, rest);
        // Transfer
        _pushOrCredit(intent.id, intent.token, intent.payer, rest);
    }

    /// @notice Lets the payer take back the uncaptured balance once the reclaim time has come.
    /// @param intent The intent the escrow was opened with, completed with its payer.
    function reclaim(PaymentIntent calldata intent) external nonReentrant {
        // Check
        Escrow storage e = _openEscrow(intent);
        address payer = intent.payer;
        if (msg.sender != payer) revert NotPayer(intent.id, payer, msg.sender);
        if (block.timestamp < intent.reclaimAfter) {
            revert ReclaimTooEarly(intent.id, intent.reclaimAfter, block.timestamp);
        }
        // Update
        e.status = Status.Reclaimed;
        uint256 rest = e.balance;
        emit Reclaimed(intent.id, payer, rest);
        // Transfer
        _pushOrCredit(intent.id, intent.token, payer, rest);
    }

    /// @notice Withdraws the caller's claimable balance of a token (payouts that could not be pushed).
    /// @param token Token, address(0) for the native coin.
    /// @param to Where to send it (the caller's own address, or any other it chooses).
    function claim(address token, address to) external nonReentrant {
        _claim(msg.sender, token, to);
    }

    /// @notice Withdraws an account's claimable balance to the address it signed for (EIP-712 `Claim`,
    ///         or ERC-1271 for contract accounts), sent by anyone.
    /// @param account Whose balance.
    /// @param token Token, address(0) for the native coin.
    /// @param to Where to send it, as signed.
    /// @param deadline Last second the signature is valid.
    /// @param signature The account's signature of `Claim(account, token, to, claimNonces[account], deadline)`.
    function claimWithSignature(
        address account,
        address token,
        address to,
        uint256 deadline,
        bytes calldata signature
    ) external nonReentrant {
        // Check
        if (block.timestamp > deadline) revert ClaimExpired(deadline, block.timestamp);
        uint256 nonce = claimNonces[account];
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(CLAIM_TYPEHASH, account, token, to, nonce, deadline)));
        if (!SignatureChecker.isValidSignatureNow(account, digest, signature)) {
            revert InvalidClaimSignature(account);
        }
        // Update
        claimNonces[account] = nonce + 1;
        _claim(account, token, to);
    }

    // ------------------------------------------------------------------ view

    /// @notice The escrow of an intent.
    /// @param intent The intent completed with its payer (the signed intent when it names one).
    /// @return escrow Its state (all zero but the key when never deposited).
    function getEscrow(PaymentIntent calldata intent) external view returns (EscrowView memory escrow) {
        (bytes32 key,) = _intentStructHash(intent);
        Escrow storage e = _escrows[key];
        uint256 refunded = _refunded[key];
        escrow.key = key;
        escrow.status = e.status;
        if (escrow.status == Status.None) return escrow;
        escrow.payer = intent.payer;
        escrow.captured = e.captured;
        escrow.refunded = refunded;
        if (escrow.status == Status.Open) {
            escrow.deposited = uint256(e.balance) + e.captured + refunded;
        } else {
            escrow.released = e.balance;
            escrow.deposited = uint256(e.balance) + e.captured + refunded;
        }
    }

    /// @notice The uncaptured balance that can still be captured or refunded.
    /// @param intent The intent completed with its payer.
    /// @return amount Zero unless the escrow is open.
    function capturable(PaymentIntent calldata intent) external view returns (uint256 amount) {
        (bytes32 key,) = _intentStructHash(intent);
        Escrow storage e = _escrows[key];
        return e.status == Status.Open ? e.balance : 0;
    }

    // -------------------------------------------------------------- internal

    /// @dev First deposit verifies the signature and opens the escrow; later ones (partial only) add to it.
    function _deposit(PaymentIntent calldata intent, bytes calldata signature, uint256 amount) private {
        // Check
        address token = intent.token;
        _checkValue(token, amount);
        if (amount == 0) revert ZeroAmount();
        // The intent's amount bounds every total, so checking it keeps all 120-bit counters exact.
        if (intent.amount > type(uint120).max) revert AmountTooLarge(intent.amount);
        (bytes32 splitsHash, uint256 totalBps) = _splitsHash(intent.splits);
        address signedPayer = intent.payer;
        bytes32 signedHash = _structHash(intent, signedPayer, splitsHash);
        bytes32 key = signedPayer == address(0) ? _structHash(intent, msg.sender, splitsHash) : signedHash;
        Escrow storage e = _escrows[key];
        Status status = e.status;
        uint256 total;
        if (status == Status.None) {
            if (intent.allowPartial && signedPayer == address(0)) revert PayerRequired(intent.id);
            if (intent.reclaimAfter <= intent.deadline) {
                revert InvalidReclaimTime(intent.id, intent.deadline, intent.reclaimAfter);
            }
            _verifyIntent(intent, signature, signedHash, totalBps, msg.sender);
            if (intent.allowPartial ? amount > intent.amount : amount != intent.amount) {
                revert WrongAmount(intent.id, intent.amount, amount);
            }
            total = amount;
            // Update
            e.balance = uint120(amount);
            e.status = Status.Open;
        } else {
            if (status != Status.Open) revert EscrowNotOpen(intent.id, status);
            // An intent naming no payer keys its escrow by the sender, so only a named payer needs checking.
            if (signedPayer != address(0) && msg.sender != signedPayer) {
                revert WrongPayer(intent.id, signedPayer, msg.sender);
            }
            if (block.timestamp > intent.deadline) revert IntentExpired(intent.id, intent.deadline, block.timestamp);
            uint256 deposited = uint256(e.balance) + e.captured + _refunded[key];
            total = deposited + amount;
            if (total > intent.amount) revert WrongAmount(intent.id, intent.amount - deposited, amount);
            // Update
            e.balance += uint120(amount);
        }
        emit Deposited(intent.id, msg.sender, token, amount, total);
        // Transfer
        if (token != address(0)) _send(token, msg.sender, address(this), amount, true);
    }

    /// @dev Pays out, or credits the amount as claimable when the token or the receiver refuses it.
    function _pushOrCredit(bytes32 intentId, address token, address to, uint256 amount) private {
        if (_push(token, to, amount)) return;
        claimable[token][to] += amount;
        emit PushFailed(intentId, to, token, amount);
    }

    /// @dev Sends an account's whole claimable balance of `token` to `to`.
    function _claim(address account, address token, address to) private {
        // Check
        if (to == address(0)) revert ZeroAddress();
        uint256 amount = claimable[token][account];
        if (amount == 0) revert NothingToClaim(token, account);
        // Update
        claimable[token][account] = 0;
        emit Claimed(account, token, to, amount);
        // Transfer
        if (token == address(0)) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert NativeTransferFailed(to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }

    /// @dev The open escrow of a presented intent (completed with its payer).
    function _openEscrow(PaymentIntent calldata intent) private view returns (Escrow storage e) {
        (e,) = _openEscrowKeyed(intent);
    }

    /// @dev The open escrow of a presented intent, and its key.
    function _openEscrowKeyed(PaymentIntent calldata intent) private view returns (Escrow storage e, bytes32 key) {
        (key,) = _intentStructHash(intent);
        e = _escrows[key];
        Status status = e.status;
        if (status != Status.Open) revert EscrowNotOpen(intent.id, status);
    }

    /// @dev Only the relayer or the intent's merchant may capture, refund or void.
    function _onlyRelayerOrMerchant(address merchant) private view {
        if (msg.sender != merchant && msg.sender != relayer()) revert NotRelayerOrMerchant(msg.sender);
    }

    /// @dev Reverts unless 0 < amount <= the uncaptured balance; returns the balance.
    function _checkAvailable(Escrow storage e, bytes32 intentId, uint256 amount) private view returns (uint256) {
        if (amount == 0) revert ZeroAmount();
        uint256 balance = e.balance;
        if (amount > balance) revert InsufficientBalance(intentId, balance, amount);
        return balance;
    }
}
