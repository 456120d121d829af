// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Create2} from "@openzeppelin/contracts/utils/Create2.sol";
import {TransientSlot} from "@openzeppelin/contracts/utils/TransientSlot.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {SluiceBase} from "./SluiceBase.sol";
import {DepositForwarder, IDepositJob} from "./DepositForwarder.sol";

/// @title SluiceDeposits
/// @notice Keyless deposit addresses: each intent that allows it gets a counterfactual address,
///         CREATE2(this, salt, DepositForwarder), whose salt commits to the intent's terms (id, chain,
///         merchant, token, amount, splits) and to this factory. A payer pays with a plain transfer;
///         nothing is deployed until the sweep, which creates the forwarder at the address, pays the
///         merchant and the splits exactly as SluicePayments would, and deletes it in the same
///         transaction. Anyone may sweep (funds only ever go to the committed merchant and splits);
///         the merchant alone rescues tokens the intent did not ask for; a refund of an over- or late
///         payment goes to an address the merchant signs for, sent by the relayer.
contract SluiceDeposits is SluiceBase, IDepositJob {
    using TransientSlot for *;

    /// @notice The terms a deposit address commits to.
    struct DepositTerms {
        /// @notice The intent's random 32-byte on-chain id (two intents never share an address).
        bytes32 id;
        /// @notice Chain id of the network the intent is on.
        uint256 chainId;
        /// @notice Address that receives the amount less the splits.
        address merchant;
        /// @notice ERC-20 token owed, or address(0) for the native coin.
        address token;
        /// @notice Amount owed, in the token's base units.
        uint256 amount;
        /// @notice Fee and extra payees; their total is bounded by `maxFeeBps`.
        Split[] splits;
    }

    /// @notice EIP-712 type hash of a merchant's refund authorization.
    bytes32 public constant REFUND_TYPEHASH =
        keccak256("Refund(bytes32 deposit,address token,address to,uint256 amount,uint256 deadline)");
    /// @dev Base of the transient job handed to the forwarder being created: +0 token, +1 remainder
    ///      receiver, +2 transfer count, then (recipient, amount) pairs from +3.
    bytes32 private constant JOB_SLOT = keccak256("sluice.deposits.job");

    /// @notice keccak256 of DepositForwarder's init code: with this factory and a salt, it fixes every
    ///         deposit address.
    bytes32 public immutable FORWARDER_CODE_HASH;

    /// @notice Refund authorizations already used (by EIP-712 digest).
    mapping(bytes32 digest => bool used) public refundUsed;

    /// @notice Emitted when a deposit address was swept to its merchant and splits.
    /// @param intentId The intent's on-chain id.
    /// @param deposit The deposit address.
    /// @param amount Amount swept (the intent's amount).
    event Swept(bytes32 indexed intentId, address indexed deposit, uint256 amount);
    /// @notice Emitted when a sweep left a deposit address as it was: it held less than the amount, or
    ///         a transfer out failed (e.g. a blocklisted merchant). The funds stay at the address.
    /// @param intentId The intent's on-chain id.
    /// @param deposit The deposit address.
    /// @param balance What the address held of the intent's token.
    event SweepSkipped(bytes32 indexed intentId, address indexed deposit, uint256 balance);
    /// @notice Emitted when the relayer refunded part of a deposit address to an address the merchant signed for.
    /// @param intentId The intent's on-chain id.
    /// @param deposit The deposit address.
    /// @param token Token refunded, address(0) for the native coin.
    /// @param to Receiver chosen by the merchant.
    /// @param amount Amount refunded.
    event Refunded(bytes32 indexed intentId, address indexed deposit, address token, address to, uint256 amount);
    /// @notice Emitted when the merchant rescued a token the intent did not ask for.
    /// @param intentId The intent's on-chain id.
    /// @param deposit The deposit address.
    /// @param token Token rescued, address(0) for the native coin.
    /// @param amount Amount rescued.
    event Rescued(bytes32 indexed intentId, address indexed deposit, address token, uint256 amount);

    /// @notice Raised when terms for another chain are swept here.
    error WrongChain(bytes32 intentId, uint256 chainId);
    /// @notice Raised when someone other than the intent's merchant rescues.
    error NotMerchant(address caller, address merchant);
    /// @notice Raised when someone other than the relayer relays a refund.
    error NotRelayer(address caller);
    /// @notice Raised when a refund authorization is not the merchant's signature.
    error InvalidMerchantSignature(address merchant);
    /// @notice Raised when a refund authorization was used before.
    error RefundAlreadyUsed(bytes32 digest);
    /// @notice Raised when a refund authorization's deadline has passed.
    error RefundExpired(uint256 deadline, uint256 timestamp);
    /// @notice Raised when a refund's or rescue's transfer out of the deposit address failed.
    error ForwardFailed(address deposit);
    /// @notice Raised when a rescue names the intent's own token on the intent's chain (that is a sweep).
    error NotRescuable(address token);

    /// @param initialOwner Owner (rotates the relayer).
    /// @param initialSigner Intent signer (unused here; kept so that every Sluice contract deploys alike).
    /// @param initialRelayer First relayer (relays merchants' refunds).
    /// @param maxFeeBps_ Largest total of splits in basis points.
    constructor(address initialOwner, address initialSigner, address initialRelayer, uint256 maxFeeBps_)
        SluiceBase("Sluice Deposits", initialOwner, initialSigner, initialRelayer, maxFeeBps_)
    {
        FORWARDER_CODE_HASH = keccak256(type(DepositForwarder).creationCode);
    }

    // -------------------------------------------------------------- external

    /// @notice Sweeps deposit addresses that hold at least their amount: each split gets
    ///         `amount * bps / 10000` (rounded down), the merchant the rest, as in SluicePayments. Of
    ///         an ERC-20 deposit, more than the amount stays at the address (a refund's to make); native
    ///         coin left after the splits goes to the merchant. Anyone may call; an address that holds
    ///         too little or whose transfers fail is skipped (`SweepSkipped`) without stopping the batch.
    /// @param deposits The terms of each deposit address.
    function sweep(DepositTerms[] calldata deposits) external nonReentrant {
        for (uint256 i; i < deposits.length; ++i) {
            DepositTerms calldata terms = deposits[i];
            // Check
            if (terms.chainId != block.chainid) revert WrongChain(terms.id, terms.chainId);
            _checkTerms(terms);
            bytes32 salt = _salt(terms);
            address deposit = _depositAt(salt);
            address token = terms.token;
            uint256 amount = terms.amount;
            uint256 balance = _balance(token, deposit);
            if (balance < amount) {
                emit SweepSkipped(terms.id, deposit, balance);
                continue;
            }
            // Update: the forwarder's job
            (uint256 merchantAmount, uint256[] memory fees) = _shares(terms.splits, amount);
            uint256 n;
            if (token != address(0)) _setTransfer(n++, terms.merchant, merchantAmount);
            for (uint256 j; j < fees.length; ++j) {
                _setTransfer(n++, terms.splits[j].recipient, fees[j]);
            }
            _setJob(token, terms.merchant, n);
            // Transfer
            if (_forward(salt)) emit Swept(terms.id, deposit, amount);
            else emit SweepSkipped(terms.id, deposit, balance);
        }
    }

    /// @notice Refunds `amount` of `token` from a deposit address to `to`, as the merchant signed
    ///         (EIP-712 `Refund`, ERC-1271 for contract merchants). Only the relayer sends it, so that a
    ///         refund needs both the merchant (who chooses where the money goes) and the gateway (which
    ///         checks it refunds an over- or late payment, not a fee owed). Native coin left at the address
    ///         goes to the merchant.
    /// @param terms The deposit address's terms.
    /// @param token Token to refund, address(0) for the native coin.
    /// @param to Receiver chosen by the merchant.
    /// @param amount Amount to refund.
    /// @param deadline Last second at which the authorization may be used.
    /// @param merchantSignature The merchant's signature of the `Refund`.
    function refund(
        DepositTerms calldata terms,
        address token,
        address to,
        uint256 amount,
        uint256 deadline,
        bytes calldata merchantSignature
    ) external nonReentrant {
        // Check
        if (msg.sender != relayer()) revert NotRelayer(msg.sender);
        if (block.timestamp > deadline) revert RefundExpired(deadline, block.timestamp);
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        bytes32 salt = _salt(terms);
        bytes32 digest = refundDigest(salt, token, to, amount, deadline);
        if (refundUsed[digest]) revert RefundAlreadyUsed(digest);
        if (!SignatureChecker.isValidSignatureNow(terms.merchant, digest, merchantSignature)) {
            revert InvalidMerchantSignature(terms.merchant);
        }
        // Update
        refundUsed[digest] = true;
        address deposit = _depositAt(salt);
        emit Refunded(terms.id, deposit, token, to, amount);
        // Transfer
        _setTransfer(0, to, amount);
        _setJob(token, terms.merchant, 1);
        if (!_forward(salt)) revert ForwardFailed(deposit);
    }

    /// @notice Sends the whole balance of a token the intent did not ask for (or any token, for terms
    ///         of another chain: a payment made on the wrong network) from a deposit address to the
    ///         merchant. Only the merchant may call.
    /// @param terms The deposit address's terms.
    /// @param token Token to rescue, address(0) for the native coin.
    function rescue(DepositTerms calldata terms, address token) external nonReentrant {
        // Check
        if (msg.sender != terms.merchant) revert NotMerchant(msg.sender, terms.merchant);
        if (token == terms.token && terms.chainId == block.chainid) revert NotRescuable(token);
        bytes32 salt = _salt(terms);
        address deposit = _depositAt(salt);
        uint256 balance = _balance(token, deposit);
        // Update
        emit Rescued(terms.id, deposit, token, balance);
        // Transfer: native coin goes to the merchant as the remainder; a token by one transfer.
        uint256 n;
        if (token != address(0)) _setTransfer(n++, terms.merchant, balance);
        _setJob(token, terms.merchant, n);
        if (!_forward(salt)) revert ForwardFailed(deposit);
    }

    // ----------------------------------------------------------------- views

    /// @inheritdoc IDepositJob
    function depositJob()
        external
        view
        returns (address token, address[] memory recipients, uint256[] memory amounts, address remainderTo)
    {
        uint256 base = uint256(JOB_SLOT);
        token = bytes32(base).asAddress().tload();
        remainderTo = bytes32(base + 1).asAddress().tload();
        uint256 n = bytes32(base + 2).asUint256().tload();
        recipients = new address[](n);
        amounts = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            recipients[i] = bytes32(base + 3 + 2 * i).asAddress().tload();
            amounts[i] = bytes32(base + 4 + 2 * i).asUint256().tload();
        }
    }

    /// @notice The CREATE2 salt of a deposit address: keccak256(abi.encode(this factory, terms)).
    /// @param terms The terms.
    /// @return salt The salt.
    function depositSalt(DepositTerms calldata terms) external view returns (bytes32 salt) {
        return _salt(terms);
    }

    /// @notice The deposit address of a set of terms (nothing needs to be deployed there).
    /// @param terms The terms.
    /// @return deposit The address.
    function depositAddress(DepositTerms calldata terms) external view returns (address deposit) {
        return _depositAt(_salt(terms));
    }

    /// @notice The EIP-712 digest a merchant signs to refund from a deposit address.
    /// @param deposit The deposit's salt (`depositSalt`).
    /// @param token Token to refund, address(0) for the native coin.
    /// @param to Receiver.
    /// @param amount Amount.
    /// @param deadline Last second at which it may be used.
    /// @return digest The typed-data digest.
    function refundDigest(bytes32 deposit, address token, address to, uint256 amount, uint256 deadline)
        public
        view
        returns (bytes32 digest)
    {
        return _hashTypedDataV4(keccak256(abi.encode(REFUND_TYPEHASH, deposit, token, to, amount, deadline)));
    }

    // -------------------------------------------------------------- internal

    /// @dev Runs the job at the deposit address of `salt`: creates the forwarder there, which makes the
    ///      transfers and self-destructs. False (nothing moved) when a transfer failed. Virtual only so
    ///      that the benchmark's variants (EIP-1167 clone + flush, a forwarder that keeps its account)
    ///      can be measured against it (contracts/test/DepositVariants.sol).
    function _forward(bytes32 salt) internal virtual returns (bool ok) {
        try new DepositForwarder{salt: salt}() {
            return true;
        } catch {
            return false;
        }
    }

    /// @dev The deposit address of `salt` (see `_forward`).
    function _depositAt(bytes32 salt) internal view virtual returns (address) {
        return Create2.computeAddress(salt, FORWARDER_CODE_HASH);
    }

    /// @dev The salt: the terms and this factory, ABI-encoded and hashed.
    function _salt(DepositTerms calldata terms) private view returns (bytes32) {
        return keccak256(abi.encode(address(this), terms));
    }

    /// @dev What a sweep requires of the terms (as `pay` of an intent): a merchant, an amount, at most
    ///      `MAX_SPLITS` splits to non-zero recipients totalling at most `maxFeeBps`.
    function _checkTerms(DepositTerms calldata terms) private view {
        if (terms.amount == 0) revert ZeroAmount();
        if (terms.merchant == address(0)) revert ZeroAddress();
        uint256 count = terms.splits.length;
        if (count > MAX_SPLITS) revert TooManySplits(count, MAX_SPLITS);
        uint256 totalBps;
        for (uint256 i; i < count; ++i) {
            if (terms.splits[i].recipient == address(0)) revert ZeroAddress();
            totalBps += terms.splits[i].bps;
        }
        if (totalBps > maxFeeBps) revert FeeTooHigh(totalBps, maxFeeBps);
    }

    /// @dev What `account` holds of `token` (native coin when zero).
    function _balance(address token, address account) private view returns (uint256) {
        return token == address(0) ? account.balance : IERC20(token).balanceOf(account);
    }

    /// @dev Records transfer `i` of the forwarder's job.
    function _setTransfer(uint256 i, address recipient, uint256 amount) private {
        uint256 base = uint256(JOB_SLOT);
        bytes32(base + 3 + 2 * i).asAddress().tstore(recipient);
        bytes32(base + 4 + 2 * i).asUint256().tstore(amount);
    }

    /// @dev Records the forwarder's token, remainder receiver and number of transfers.
    function _setJob(address token, address remainderTo, uint256 count) private {
        uint256 base = uint256(JOB_SLOT);
        bytes32(base).asAddress().tstore(token);
        bytes32(base + 1).asAddress().tstore(remainderTo);
        bytes32(base + 2).asUint256().tstore(count);
    }
}
