// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SluiceBase} from "./SluiceBase.sol";

/// @notice EIP-3009 (USDC): a transfer to the caller authorized by the payer's signature.
interface IERC3009 {
    /// @notice Moves `value` from `from` to the caller (`to`) with `from`'s EIP-712 signature.
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
    ) external;
}

/// @notice Uniswap's Permit2 signature transfers (the canonical deployment, same address on every chain).
interface ISignatureTransfer {
    /// @notice Token and largest amount a signature permits.
    struct TokenPermissions {
        address token;
        uint256 amount;
    }

    /// @notice A signed one-off transfer permission: what, a one-time nonce, until when.
    struct PermitTransferFrom {
        TokenPermissions permitted;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice Where the permitted tokens go, and how many.
    struct SignatureTransferDetails {
        address to;
        uint256 requestedAmount;
    }

    /// @notice Transfers with `owner`'s signature of the permit, its spender (the caller) and `witness`.
    function permitWitnessTransferFrom(
        PermitTransferFrom calldata permit,
        SignatureTransferDetails calldata transferDetails,
        address owner,
        bytes32 witness,
        string calldata witnessTypeString,
        bytes calldata signature
    ) external;
}

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

    /// @notice The canonical Permit2 (Uniswap), at this address on every chain it is deployed to.
    ISignatureTransfer public constant PERMIT2 = ISignatureTransfer(0x000000000022D473030F116dDEE9F6B43aC78BA3);
    /// @notice The witness part of the Permit2 type the payer signs for `payWithPermit2`: the whole
    ///         intent (`PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,
    ///         uint256 deadline,PaymentIntent witness)` followed by the referenced types, sorted by name).
    string public constant PERMIT2_WITNESS_TYPE = "PaymentIntent witness)"
        "PaymentIntent(bytes32 id,uint256 nonce,address token,uint256 amount,address payer,uint256 deadline,"
        "address merchant,Split[] splits,uint256 reclaimAfter,bool allowPartial)"
        "Split(address recipient,uint16 bps)"
        "TokenPermissions(address token,uint256 amount)";

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

    /// @notice Pays an ERC-20 intent with the payer's EIP-3009 authorization (USDC's
    ///         `receiveWithAuthorization`), sent by anyone (the gateway relays it): the payer needs no
    ///         approve and no native coin. The authorization pays this contract, which only the contract
    ///         itself can redeem, and its nonce must be the intent's EIP-712 digest (`hashIntent`), so it
    ///         pays this intent and nothing else; the split happens in the same transaction.
    /// @param intent The signed intent.
    /// @param signature An operator signer's EIP-712 signature of the intent.
    /// @param payer The authorization's signer (`from`); must be the intent's payer when it names one.
    /// @param validAfter The authorization is valid after this time.
    /// @param validBefore The authorization is valid before this time.
    /// @param v Authorization signature v.
    /// @param r Authorization signature r.
    /// @param s Authorization signature s.
    function payWithAuthorization(
        PaymentIntent calldata intent,
        bytes calldata signature,
        address payer,
        uint256 validAfter,
        uint256 validBefore,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant whenNotPaused {
        // Check
        if (intent.reclaimAfter != 0 || intent.allowPartial) revert EscrowOnlyIntent(intent.id);
        address token = intent.token;
        if (token == address(0)) revert ZeroAddress(); // the native coin has no authorization
        uint256 amount = intent.amount;
        (bytes32 structHash, uint256 totalBps) = _intentStructHash(intent);
        _verifyIntent(intent, signature, structHash, totalBps, payer);
        // Update
        Split[] calldata splits = intent.splits;
        address merchant = intent.merchant;
        (uint256 merchantAmount, uint256[] memory fees) = _shares(splits, amount);
        emit Paid(intent.id, payer, merchant, token, amount, merchantAmount, fees);
        // Transfer: in by the authorization (balance-delta checked), then out to the merchant and splits.
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC3009(token).receiveWithAuthorization(
            payer, address(this), amount, validAfter, validBefore, _hashTypedDataV4(structHash), v, r, s
        );
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        if (received != amount) revert TransferShortfall(token, address(this), amount, received);
        _distribute(token, address(this), merchant, splits, merchantAmount, fees);
    }

    /// @notice Pays an ERC-20 intent with the payer's Permit2 signature (any token the payer approved to
    ///         Permit2 once), sent by anyone (the gateway relays it): the payer needs no native coin. The
    ///         payer signs a `PermitWitnessTransferFrom` of `amount` of the intent's token to this contract
    ///         (the spender), until the intent's deadline, with the intent itself as witness; so the
    ///         signature pays this intent on this contract and nothing else, and only once (Permit2's
    ///         nonce and the intent's). The split happens in the same transaction.
    /// @param intent The signed intent.
    /// @param signature An operator signer's EIP-712 signature of the intent.
    /// @param payer The Permit2 signature's signer (the token owner); must be the intent's payer when it names one.
    /// @param permitNonce The Permit2 (unordered) nonce the payer signed.
    /// @param permitSignature The payer's signature (65 bytes, 64-byte EIP-2098, or ERC-1271 for contracts).
    function payWithPermit2(
        PaymentIntent calldata intent,
        bytes calldata signature,
        address payer,
        uint256 permitNonce,
        bytes calldata permitSignature
    ) external nonReentrant whenNotPaused {
        // Check
        if (intent.reclaimAfter != 0 || intent.allowPartial) revert EscrowOnlyIntent(intent.id);
        address token = intent.token;
        if (token == address(0)) revert ZeroAddress(); // the native coin has no Permit2 transfer
        uint256 amount = intent.amount;
        (bytes32 structHash, uint256 totalBps) = _intentStructHash(intent);
        _verifyIntent(intent, signature, structHash, totalBps, payer);
        // Update
        Split[] calldata splits = intent.splits;
        address merchant = intent.merchant;
        (uint256 merchantAmount, uint256[] memory fees) = _shares(splits, amount);
        emit Paid(intent.id, payer, merchant, token, amount, merchantAmount, fees);
        // Transfer: in through Permit2 (balance-delta checked), then out to the merchant and splits.
        uint256 before = IERC20(token).balanceOf(address(this));
        PERMIT2.permitWitnessTransferFrom(
            ISignatureTransfer.PermitTransferFrom(
                ISignatureTransfer.TokenPermissions(token, amount), permitNonce, intent.deadline
            ),
            ISignatureTransfer.SignatureTransferDetails(address(this), amount),
            payer,
            structHash,
            PERMIT2_WITNESS_TYPE,
            permitSignature
        );
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        if (received != amount) revert TransferShortfall(token, address(this), amount, received);
        _distribute(token, address(this), merchant, splits, merchantAmount, fees);
    }

    /// @dev Verifies, consumes the nonce, emits, then moves the funds (checks, effects, interactions).
    function _pay(PaymentIntent calldata intent, bytes calldata signature) private {
        // Check
        if (intent.reclaimAfter != 0 || intent.allowPartial) revert EscrowOnlyIntent(intent.id);
        address token = intent.token;
        uint256 amount = intent.amount;
        _checkValue(token, amount);
        (bytes32 structHash, uint256 totalBps) = _intentStructHash(intent);
        _verifyIntent(intent, signature, structHash, totalBps, msg.sender);
        // Update
        Split[] calldata splits = intent.splits;
        address merchant = intent.merchant;
        (uint256 merchantAmount, uint256[] memory fees) = _shares(splits, amount);
        emit Paid(intent.id, msg.sender, merchant, token, amount, merchantAmount, fees);
        // Transfer
        _distribute(token, token == address(0) ? address(this) : msg.sender, merchant, splits, merchantAmount, fees);
    }
}
