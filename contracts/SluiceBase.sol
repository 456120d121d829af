// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title SluiceBase
/// @notice Operator-signed payment intents shared by SluicePayments and SluiceEscrow: EIP-712
///         verification bound to chain id and contract, a Permit2-style nonce bitmap against
///         replay, three separate roles (intent signer, relayer, owner), two-step ownership, pause,
///         exact-amount token movement on the way in and non-blocking pushes on the way out.
/// @dev The EIP-712 type strings here are mirrored by `sluice/chain/intents.py`; a test keeps them equal.
///      Pause is implemented here rather than with OpenZeppelin's Pausable so that the flag shares a
///      storage slot with the active signer: a payment reads both with one cold SLOAD (2,100 gas less).
abstract contract SluiceBase is EIP712, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice One payee that receives a share of every payment or capture.
    struct Split {
        /// @notice Address paid the share.
        address recipient;
        /// @notice Share in basis points of the paid or captured amount (10,000 = 100%).
        uint16 bps;
    }

    /// @notice A payment intent as signed by an operator signer of the gateway.
    struct PaymentIntent {
        /// @notice The gateway's random 32-byte on-chain id of the intent.
        bytes32 id;
        /// @notice Replay nonce; each nonce can be used once per contract (bitmap of 256 per word).
        uint256 nonce;
        /// @notice ERC-20 token paid, or address(0) for the chain's native coin.
        address token;
        /// @notice Exact amount owed, in the token's base units.
        uint256 amount;
        /// @notice The only address allowed to pay, or address(0) for anyone.
        address payer;
        /// @notice Unix time after which the intent can no longer be paid.
        uint256 deadline;
        /// @notice Address that receives the amount less the splits.
        address merchant;
        /// @notice Fee and extra payees; their total is bounded by `maxFeeBps`.
        Split[] splits;
        /// @notice Escrow only: unix time from which the payer may reclaim what was not captured
        ///         and after which nothing can be captured. Must be 0 for direct payments.
        uint256 reclaimAfter;
        /// @notice Escrow only: whether several deposits may add up to `amount`. False for direct payments.
        bool allowPartial;
    }

    /// @notice EIP-712 type string of a split.
    bytes internal constant SPLIT_TYPE = "Split(address recipient,uint16 bps)";
    /// @notice EIP-712 type hash of a split.
    bytes32 public constant SPLIT_TYPEHASH = keccak256(SPLIT_TYPE);
    /// @notice EIP-712 type hash of a payment intent (its referenced Split type appended, as the standard requires).
    bytes32 public constant INTENT_TYPEHASH = keccak256(
        abi.encodePacked(
            "PaymentIntent(bytes32 id,uint256 nonce,address token,uint256 amount,address payer,uint256 deadline,"
            "address merchant,Split[] splits,uint256 reclaimAfter,bool allowPartial)",
            SPLIT_TYPE
        )
    );
    /// @notice Basis-point denominator.
    uint256 public constant BPS = 10_000;
    /// @notice Largest number of splits in one intent.
    uint256 public constant MAX_SPLITS = 5;
    /// @notice Longest time a rotated-out signer's signatures stay valid (intents already handed out).
    uint256 public constant MAX_SIGNER_GRACE = 1 days;

    /// @notice Largest total of splits, in basis points, fixed at deployment.
    uint256 public immutable maxFeeBps;

    /// @dev The active intent signer; packed with `_paused` (read together by every payment).
    address private _signer;
    /// @dev Whether new payments and deposits are stopped.
    bool private _paused;
    /// @dev The signer before the last rotation, valid until `_previousSignerUntil` (exclusive).
    address private _previousSigner;
    /// @dev End of the previous signer's grace period.
    uint64 private _previousSignerUntil;
    /// @dev The relayer: sends escrow captures, refunds and voids and cancels nonces; never signs intents.
    address private _relayer;
    /// @notice Used nonces: bit `nonce & 255` of word `nonce >> 8`.
    mapping(uint256 wordPos => uint256 bits) public nonceBitmap;

    /// @notice Emitted when the owner replaces the operator signer.
    /// @param previousSigner The signer replaced (address(0) at deployment).
    /// @param newSigner The signer from now on.
    /// @param previousValidUntil Until when (exclusive) the previous signer's signatures are still accepted.
    event SignerRotated(address indexed previousSigner, address indexed newSigner, uint256 previousValidUntil);
    /// @notice Emitted when the owner replaces the relayer.
    /// @param previousRelayer The relayer replaced (address(0) at deployment).
    /// @param newRelayer The relayer from now on.
    event RelayerChanged(address indexed previousRelayer, address indexed newRelayer);
    /// @notice Emitted when the owner pauses new payments and deposits.
    /// @param account The owner.
    event Paused(address account);
    /// @notice Emitted when the owner lifts a pause.
    /// @param account The owner.
    event Unpaused(address account);
    /// @notice Emitted when the relayer or the owner invalidates unused nonces (cancelled intents).
    /// @param wordPos Bitmap word of the nonces.
    /// @param mask Bits set in the word.
    event NoncesInvalidated(uint256 indexed wordPos, uint256 mask);

    /// @notice Raised when the intent's deadline has passed.
    error IntentExpired(bytes32 intentId, uint256 deadline, uint256 timestamp);
    /// @notice Raised when the signature was not made by a current operator signer.
    error InvalidSigner(address recovered);
    /// @notice Raised when a payer-bound intent is used by another address.
    error WrongPayer(bytes32 intentId, address expected, address actual);
    /// @notice Raised when the intent's nonce was used or invalidated before.
    error NonceAlreadyUsed(uint256 nonce);
    /// @notice Raised when the splits add up to more than `maxFeeBps`.
    error FeeTooHigh(uint256 totalBps, uint256 maxBps);
    /// @notice Raised when an intent carries more than `MAX_SPLITS` splits.
    error TooManySplits(uint256 count, uint256 max);
    /// @notice Raised when an amount is zero where a positive one is needed.
    error ZeroAmount();
    /// @notice Raised when a required address is zero.
    error ZeroAddress();
    /// @notice Raised when the native value sent differs from the amount due.
    error WrongValue(uint256 expected, uint256 actual);
    /// @notice Raised when a recipient received less than sent (fee-on-transfer or rebasing token).
    error TransferShortfall(address token, address recipient, uint256 expected, uint256 received);
    /// @notice Raised when sending the native coin to a recipient failed.
    error NativeTransferFailed(address recipient, uint256 amount);
    /// @notice Raised when the caller is neither the relayer nor the owner.
    error NotRelayerOrOwner(address caller);
    /// @notice Raised when the maximum fee given at deployment is above 100%.
    error MaxFeeTooHigh(uint256 maxFeeBps);
    /// @notice Raised on an attempt to renounce ownership, which would freeze signer rotation and pause.
    error RenounceDisabled();
    /// @notice Raised when a paused operation is called.
    error EnforcedPause();
    /// @notice Raised when unpausing a contract that is not paused.
    error ExpectedPause();
    /// @notice Raised when a rotation's grace period exceeds `MAX_SIGNER_GRACE`.
    error GraceTooLong(uint256 grace, uint256 max);

    /// @dev Stops a function while paused.
    modifier whenNotPaused() {
        if (_paused) revert EnforcedPause();
        _;
    }

    /// @param name EIP-712 domain name.
    /// @param initialOwner Owner (rotates the signer and the relayer, pauses); passed explicitly so CREATE2
    ///        deployment works.
    /// @param initialSigner First intent signer.
    /// @param initialRelayer First relayer.
    /// @param maxFeeBps_ Largest total of splits in basis points.
    constructor(
        string memory name,
        address initialOwner,
        address initialSigner,
        address initialRelayer,
        uint256 maxFeeBps_
    ) EIP712(name, "1") Ownable(initialOwner) {
        if (initialSigner == address(0) || initialRelayer == address(0)) revert ZeroAddress();
        if (maxFeeBps_ > BPS) revert MaxFeeTooHigh(maxFeeBps_);
        maxFeeBps = maxFeeBps_;
        _signer = initialSigner;
        _relayer = initialRelayer;
        emit SignerRotated(address(0), initialSigner, 0);
        emit RelayerChanged(address(0), initialRelayer);
    }

    // ----------------------------------------------------------------- owner

    /// @notice Replaces the operator signer. The previous one stays valid for `previousValidFor`
    ///         seconds so that intents already handed out can still be paid; 0 revokes it at once
    ///         (a leaked key).
    /// @param newSigner The signer from now on.
    /// @param previousValidFor Grace period of the replaced signer, at most `MAX_SIGNER_GRACE`.
    function rotateSigner(address newSigner, uint256 previousValidFor) external onlyOwner {
        if (newSigner == address(0)) revert ZeroAddress();
        if (previousValidFor > MAX_SIGNER_GRACE) revert GraceTooLong(previousValidFor, MAX_SIGNER_GRACE);
        address old = _signer;
        uint256 until = block.timestamp + previousValidFor;
        _previousSigner = old;
        _previousSignerUntil = uint64(until);
        _signer = newSigner;
        emit SignerRotated(old, newSigner, until);
    }

    /// @notice Replaces the relayer at once (a leaked relayer key can capture or void early, never redirect funds).
    /// @param newRelayer The relayer from now on.
    function setRelayer(address newRelayer) external onlyOwner {
        if (newRelayer == address(0)) revert ZeroAddress();
        emit RelayerChanged(_relayer, newRelayer);
        _relayer = newRelayer;
    }

    /// @notice Stops new payments and deposits in an emergency. Funds already held keep every way out:
    ///         captures (which only pay the signed merchant and splits), refunds, voids, reclaims, claims.
    function pause() external onlyOwner {
        if (_paused) revert EnforcedPause();
        _paused = true;
        emit Paused(msg.sender);
    }

    /// @notice Lifts a pause.
    function unpause() external onlyOwner {
        if (!_paused) revert ExpectedPause();
        _paused = false;
        emit Unpaused(msg.sender);
    }

    /// @notice Disabled: an ownerless contract could never rotate a leaked signer key.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceDisabled();
    }

    /// @notice Marks nonces as used so that their signed intents can never be paid (intent cancelled).
    /// @param wordPos Bitmap word (`nonce >> 8`).
    /// @param mask Bits to set (`1 << (nonce & 255)` for one nonce).
    function invalidateNonces(uint256 wordPos, uint256 mask) external {
        if (msg.sender != _relayer && msg.sender != owner()) revert NotRelayerOrOwner(msg.sender);
        nonceBitmap[wordPos] |= mask;
        emit NoncesInvalidated(wordPos, mask);
    }

    // ----------------------------------------------------------------- views

    /// @notice Whether an address's signatures are accepted now: the active signer, or the previous
    ///         one during its grace period.
    /// @param account The address.
    /// @return allowed True when it may sign intents.
    function isSigner(address account) public view returns (bool allowed) {
        if (account == address(0)) return false;
        return account == _signer || (account == _previousSigner && block.timestamp < _previousSignerUntil);
    }

    /// @notice The active operator signer.
    /// @return The signer address.
    function signer() external view returns (address) {
        return _signer;
    }

    /// @notice The signer replaced by the last rotation and the end of its grace period (exclusive).
    /// @return previous The previous signer (address(0) before any rotation).
    /// @return validUntil Unix time until which its signatures are accepted.
    function previousSigner() external view returns (address previous, uint256 validUntil) {
        return (_previousSigner, _previousSignerUntil);
    }

    /// @notice The relayer (escrow captures, refunds and voids; nonce cancellation).
    /// @return The relayer address.
    function relayer() public view returns (address) {
        return _relayer;
    }

    /// @notice Whether new payments and deposits are stopped.
    /// @return True while paused.
    function paused() external view returns (bool) {
        return _paused;
    }

    /// @notice Whether a nonce was used or invalidated.
    /// @param nonce The nonce.
    /// @return used True when an intent with this nonce can no longer be paid.
    function isNonceUsed(uint256 nonce) external view returns (bool used) {
        return nonceBitmap[nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @notice The EIP-712 digest a signer signs for an intent on this contract and chain.
    /// @param intent The intent.
    /// @return digest The typed-data digest.
    function hashIntent(PaymentIntent calldata intent) external view returns (bytes32 digest) {
        (bytes32 structHash,) = _intentStructHash(intent);
        return _hashTypedDataV4(structHash);
    }

    /// @notice The EIP-712 domain separator (bound to chain id and this contract's address).
    /// @return separator The domain separator.
    function domainSeparator() external view returns (bytes32 separator) {
        return _domainSeparatorV4();
    }

    // -------------------------------------------------------------- internal

    /// @dev EIP-712 struct hash of an intent, and the total of its splits in basis points.
    function _intentStructHash(PaymentIntent calldata intent) internal pure returns (bytes32, uint256 totalBps) {
        bytes32 splitsHash;
        (splitsHash, totalBps) = _splitsHash(intent.splits);
        return (_structHash(intent, intent.payer, splitsHash), totalBps);
    }

    /// @dev EIP-712 hash of the splits array, and their total in basis points; rejects a zero recipient.
    function _splitsHash(Split[] calldata splits) internal pure returns (bytes32, uint256 totalBps) {
        bytes32[] memory splitHashes = new bytes32[](splits.length);
        for (uint256 i; i < splits.length; ++i) {
            address recipient = splits[i].recipient;
            uint16 bps = splits[i].bps;
            if (recipient == address(0)) revert ZeroAddress();
            totalBps += bps;
            splitHashes[i] = keccak256(abi.encode(SPLIT_TYPEHASH, recipient, bps));
        }
        return (keccak256(abi.encodePacked(splitHashes)), totalBps);
    }

    /// @dev EIP-712 struct hash of an intent with `payer` in its payer field (the escrow keys an intent
    ///      signed for any payer by the intent completed with the address that deposited).
    function _structHash(PaymentIntent calldata intent, address payer, bytes32 splitsHash)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(
            abi.encode(
                INTENT_TYPEHASH,
                intent.id,
                intent.nonce,
                intent.token,
                intent.amount,
                payer,
                intent.deadline,
                intent.merchant,
                splitsHash,
                intent.reclaimAfter,
                intent.allowPartial
            )
        );
    }

    /// @dev Checks an intent for first use by `sender` (the paying address; its struct hash and splits
    ///      total given) and consumes its nonce.
    function _verifyIntent(
        PaymentIntent calldata intent,
        bytes calldata signature,
        bytes32 structHash,
        uint256 totalBps,
        address sender
    ) internal {
        // Check
        uint256 deadline = intent.deadline;
        if (block.timestamp > deadline) revert IntentExpired(intent.id, deadline, block.timestamp);
        address payer = intent.payer;
        if (payer != address(0) && payer != sender) revert WrongPayer(intent.id, payer, sender);
        if (intent.amount == 0) revert ZeroAmount();
        if (intent.merchant == address(0)) revert ZeroAddress();
        uint256 splitCount = intent.splits.length;
        if (splitCount > MAX_SPLITS) revert TooManySplits(splitCount, MAX_SPLITS);
        if (totalBps > maxFeeBps) revert FeeTooHigh(totalBps, maxFeeBps);
        address recovered = ECDSA.recoverCalldata(_hashTypedDataV4(structHash), signature);
        if (recovered != _signer && !isSigner(recovered)) revert InvalidSigner(recovered);
        // Update
        _useNonce(intent.nonce);
    }

    /// @dev Flips the nonce's bit; reverts when it was set already.
    function _useNonce(uint256 nonce) internal {
        uint256 bit = 1 << (nonce & 0xff);
        uint256 flipped = nonceBitmap[nonce >> 8] ^= bit;
        if (flipped & bit == 0) revert NonceAlreadyUsed(nonce);
    }

    /// @dev Shares of `amount`: each split rounded down, the merchant gets the remainder.
    function _shares(Split[] calldata splits, uint256 amount)
        internal
        pure
        returns (uint256 merchantAmount, uint256[] memory fees)
    {
        fees = new uint256[](splits.length);
        merchantAmount = amount;
        for (uint256 i; i < splits.length; ++i) {
            uint256 fee = amount * splits[i].bps / BPS;
            fees[i] = fee;
            // Cannot underflow: the splits total at most maxFeeBps <= BPS, checked when the intent was first used.
            unchecked {
                merchantAmount -= fee;
            }
        }
    }

    /// @dev Pays the merchant and the splits from `from` (the payer, or this contract). The first
    ///      transfer that moves anything (the merchant's, unless its share is zero) has its recipient's
    ///      balance delta checked, which rejects fee-on-transfer tokens; the other transfers move the
    ///      same token in the same transaction and are not checked again (2 x ~630 gas saved per split).
    function _distribute(
        address token,
        address from,
        address merchant,
        Split[] calldata splits,
        uint256 merchantAmount,
        uint256[] memory fees
    ) internal {
        bool checked = merchantAmount != 0;
        _send(token, from, merchant, merchantAmount, true);
        for (uint256 i; i < splits.length; ++i) {
            uint256 fee = fees[i];
            _send(token, from, splits[i].recipient, fee, !checked);
            if (fee != 0) checked = true;
        }
    }

    /// @dev Moves exactly `amount` of `token` (native when zero) from `from` to `to`. With `checkDelta`
    ///      the recipient's balance delta must equal `amount`, so fee-on-transfer tokens are rejected
    ///      rather than underpaying.
    function _send(address token, address from, address to, uint256 amount, bool checkDelta) internal {
        if (amount == 0) return;
        if (token == address(0)) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert NativeTransferFailed(to, amount);
            return;
        }
        IERC20 erc20 = IERC20(token);
        uint256 before = checkDelta ? erc20.balanceOf(to) : 0;
        if (from == address(this)) erc20.safeTransfer(to, amount);
        else erc20.safeTransferFrom(from, to, amount);
        if (checkDelta) {
            uint256 received = erc20.balanceOf(to) - before;
            if (received != amount) revert TransferShortfall(token, to, amount, received);
        }
    }

    /// @dev Sends `amount` of `token` (native when zero) from this contract without ever reverting on the
    ///      receiver's or the token's account: false when the transfer reverted or returned false (a
    ///      blocklisted or paused token, a contract refusing the native coin). No balance-delta check:
    ///      funds already held must leave even if the token started charging a fee since they came in.
    function _push(address token, address to, uint256 amount) internal returns (bool ok) {
        if (amount == 0) return true;
        if (token == address(0)) {
            (ok,) = to.call{value: amount}("");
        } else {
            ok = IERC20(token).trySafeTransfer(to, amount);
        }
    }

    /// @dev Uses an EIP-2612 permit; a failure (for example a front-run permit) is ignored so
    ///      that the transfer decides, which succeeds when the allowance is already there.
    function _permit(address token, uint256 amount, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s) internal {
        if (token == address(0)) revert ZeroAddress(); // the native coin has no permit
        try IERC20Permit(token).permit(msg.sender, address(this), amount, permitDeadline, v, r, s) {} catch {}
    }

    /// @dev Checks the native value sent: exactly `amount` for the native coin, nothing for tokens.
    function _checkValue(address token, uint256 amount) internal view {
        uint256 expected = token == address(0) ? amount : 0;
        if (msg.value != expected) revert WrongValue(expected, msg.value);
    }
}
