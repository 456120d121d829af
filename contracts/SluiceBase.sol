// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title SluiceBase
/// @notice Operator-signed payment intents shared by SluicePayments and SluiceEscrow: EIP-712
///         verification bound to chain id and contract, a Permit2-style nonce bitmap against
///         replay, rotatable signers, two-step ownership, pause, and exact-amount token movement.
/// @dev The EIP-712 type strings here are mirrored by `sluice/chain/intents.py`; a test keeps them equal.
abstract contract SluiceBase is EIP712, Ownable2Step, Pausable, ReentrancyGuardTransient {
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

    /// @notice Largest total of splits, in basis points, fixed at deployment.
    uint256 public immutable maxFeeBps;

    /// @notice Whether an address may sign intents.
    mapping(address signer => bool allowed) public isSigner;
    /// @notice Used nonces: bit `nonce & 255` of word `nonce >> 8`.
    mapping(uint256 wordPos => uint256 bits) public nonceBitmap;

    /// @notice Emitted when the owner adds or removes an operator signer.
    /// @param signer The signer address.
    /// @param allowed Whether it may sign from now on.
    event SignerUpdated(address indexed signer, bool allowed);
    /// @notice Emitted when a signer or the owner invalidates unused nonces (cancelled intents).
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
    /// @notice Raised when the caller is neither a signer nor the owner.
    error NotOperator(address caller);
    /// @notice Raised when the maximum fee given at deployment is above 100%.
    error MaxFeeTooHigh(uint256 maxFeeBps);
    /// @notice Raised on an attempt to renounce ownership, which would freeze signer rotation and pause.
    error RenounceDisabled();

    /// @dev Restricts a function to current operator signers.
    modifier onlySigner() {
        if (!isSigner[msg.sender]) revert NotOperator(msg.sender);
        _;
    }

    /// @param name EIP-712 domain name.
    /// @param initialOwner Owner (rotates signers, pauses); passed explicitly so CREATE2 deployment works.
    /// @param initialSigner First operator signer.
    /// @param maxFeeBps_ Largest total of splits in basis points.
    constructor(string memory name, address initialOwner, address initialSigner, uint256 maxFeeBps_)
        EIP712(name, "1")
        Ownable(initialOwner)
    {
        if (initialSigner == address(0)) revert ZeroAddress();
        if (maxFeeBps_ > BPS) revert MaxFeeTooHigh(maxFeeBps_);
        maxFeeBps = maxFeeBps_;
        isSigner[initialSigner] = true;
        emit SignerUpdated(initialSigner, true);
    }

    // ----------------------------------------------------------------- owner

    /// @notice Adds or removes an operator signer.
    /// @param signer The signer address.
    /// @param allowed Whether it may sign intents from now on.
    function setSigner(address signer, bool allowed) external onlyOwner {
        if (signer == address(0)) revert ZeroAddress();
        isSigner[signer] = allowed;
        emit SignerUpdated(signer, allowed);
    }

    /// @notice Stops new payments, deposits and captures in an emergency. Refunds stay open.
    function pause() external onlyOwner {
        _pause();
    }

    /// @notice Lifts a pause.
    function unpause() external onlyOwner {
        _unpause();
    }

    /// @notice Disabled: an ownerless contract could never rotate a leaked signer key.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceDisabled();
    }

    /// @notice Marks nonces as used so that their signed intents can never be paid (intent cancelled).
    /// @param wordPos Bitmap word (`nonce >> 8`).
    /// @param mask Bits to set (`1 << (nonce & 255)` for one nonce).
    function invalidateNonces(uint256 wordPos, uint256 mask) external {
        if (!isSigner[msg.sender] && msg.sender != owner()) revert NotOperator(msg.sender);
        nonceBitmap[wordPos] |= mask;
        emit NoncesInvalidated(wordPos, mask);
    }

    // ----------------------------------------------------------------- views

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
        return _hashTypedDataV4(_intentStructHash(intent));
    }

    /// @notice The EIP-712 domain separator (bound to chain id and this contract's address).
    /// @return separator The domain separator.
    function domainSeparator() external view returns (bytes32 separator) {
        return _domainSeparatorV4();
    }

    // -------------------------------------------------------------- internal

    /// @dev EIP-712 struct hash of an intent.
    function _intentStructHash(PaymentIntent calldata intent) internal pure returns (bytes32) {
        Split[] calldata splits = intent.splits;
        bytes32[] memory splitHashes = new bytes32[](splits.length);
        for (uint256 i; i < splits.length; ++i) {
            splitHashes[i] = keccak256(abi.encode(SPLIT_TYPEHASH, splits[i].recipient, splits[i].bps));
        }
        // Encoded in two parts only to keep the stack shallow; the bytes are those of one abi.encode.
        return keccak256(
            bytes.concat(
                abi.encode(
                    INTENT_TYPEHASH,
                    intent.id,
                    intent.nonce,
                    intent.token,
                    intent.amount,
                    intent.payer,
                    intent.deadline,
                    intent.merchant
                ),
                abi.encode(keccak256(abi.encodePacked(splitHashes)), intent.reclaimAfter, intent.allowPartial)
            )
        );
    }

    /// @dev Checks an intent for first use and consumes its nonce; returns its struct hash.
    function _verifyIntent(PaymentIntent calldata intent, bytes calldata signature) internal returns (bytes32 structHash) {
        // Check
        if (block.timestamp > intent.deadline) revert IntentExpired(intent.id, intent.deadline, block.timestamp);
        if (intent.payer != address(0) && intent.payer != msg.sender) {
            revert WrongPayer(intent.id, intent.payer, msg.sender);
        }
        if (intent.amount == 0) revert ZeroAmount();
        if (intent.merchant == address(0)) revert ZeroAddress();
        _checkSplits(intent.splits);
        structHash = _intentStructHash(intent);
        address signer = ECDSA.recover(_hashTypedDataV4(structHash), signature);
        if (!isSigner[signer]) revert InvalidSigner(signer);
        // Update
        _useNonce(intent.nonce);
    }

    /// @dev Bounds the number of splits and their total.
    function _checkSplits(Split[] calldata splits) internal view {
        uint256 count = splits.length;
        if (count > MAX_SPLITS) revert TooManySplits(count, MAX_SPLITS);
        uint256 total;
        for (uint256 i; i < count; ++i) {
            if (splits[i].recipient == address(0)) revert ZeroAddress();
            total += splits[i].bps;
        }
        if (total > maxFeeBps) revert FeeTooHigh(total, maxFeeBps);
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
            merchantAmount -= fee;
        }
    }

    /// @dev Pays the merchant and the splits from `from` (the payer, or this contract).
    function _distribute(
        address token,
        address from,
        address merchant,
        Split[] calldata splits,
        uint256 merchantAmount,
        uint256[] memory fees
    ) internal {
        _send(token, from, merchant, merchantAmount);
        for (uint256 i; i < splits.length; ++i) {
            _send(token, from, splits[i].recipient, fees[i]);
        }
    }

    /// @dev Moves exactly `amount` of `token` (native when zero) from `from` to `to`, checking the
    ///      recipient's balance delta so fee-on-transfer tokens are rejected rather than underpaying.
    function _send(address token, address from, address to, uint256 amount) internal {
        if (amount == 0) return;
        if (token == address(0)) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert NativeTransferFailed(to, amount);
            return;
        }
        IERC20 erc20 = IERC20(token);
        uint256 before = erc20.balanceOf(to);
        if (from == address(this)) erc20.safeTransfer(to, amount);
        else erc20.safeTransferFrom(from, to, amount);
        uint256 received = erc20.balanceOf(to) - before;
        if (received != amount) revert TransferShortfall(token, to, amount, received);
    }

    /// @dev Uses an EIP-2612 permit; a failure (for example a front-run permit) is ignored so
    ///      that the transfer decides, which succeeds when the allowance is already there.
    function _permit(address token, uint256 amount, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s) internal {
        try IERC20Permit(token).permit(msg.sender, address(this), amount, permitDeadline, v, r, s) {} catch {}
    }

    /// @dev Checks the native value sent: exactly `amount` for the native coin, nothing for tokens.
    function _checkValue(address token, uint256 amount) internal view {
        uint256 expected = token == address(0) ? amount : 0;
        if (msg.value != expected) revert WrongValue(expected, msg.value);
    }
}
