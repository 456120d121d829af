// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {Create2} from "@openzeppelin/contracts/utils/Create2.sol";
import {IDepositJob} from "../DepositForwarder.sol";
import {SluiceDeposits} from "../SluiceDeposits.sol";

/// @notice Benchmark only: the alternatives to SluiceDeposits' self-destructing forwarder that
///         benchmarks/gas.py measures against it (docs/contracts.md says why they lost).

/// @notice Makes its job's transfers in its constructor and returns no code, without self-destructing:
///         the account keeps nonce 1, so CREATE2 can never run at the address again.
contract DepositForwarderKeep {
    using SafeERC20 for IERC20;

    /// @notice Makes the creator's transfers from this address.
    constructor() payable {
        (address token, address[] memory recipients, uint256[] memory amounts, address remainderTo) =
            IDepositJob(msg.sender).depositJob();
        for (uint256 i; i < recipients.length; ++i) {
            if (amounts[i] == 0) continue;
            if (token == address(0)) {
                (bool ok,) = recipients[i].call{value: amounts[i]}("");
                require(ok);
            } else {
                IERC20(token).safeTransfer(recipients[i], amounts[i]);
            }
        }
        if (address(this).balance != 0) {
            (bool ok,) = remainderTo.call{value: address(this).balance}("");
            require(ok);
        }
    }
}

/// @notice SluiceDeposits with the forwarder that keeps its account.
contract SluiceDepositsKeep is SluiceDeposits {
    /// @notice keccak256 of DepositForwarderKeep's init code.
    bytes32 public immutable KEEP_CODE_HASH;

    /// @param o Owner. @param s Signer. @param r Relayer. @param m Max fee in basis points.
    constructor(address o, address s, address r, uint256 m) SluiceDeposits(o, s, r, m) {
        KEEP_CODE_HASH = keccak256(type(DepositForwarderKeep).creationCode);
    }

    function _forward(bytes32 salt) internal override returns (bool ok) {
        try new DepositForwarderKeep{salt: salt}() {
            return true;
        } catch {
            return false;
        }
    }

    function _depositAt(bytes32 salt) internal view override returns (address) {
        return Create2.computeAddress(salt, KEEP_CODE_HASH);
    }
}

/// @notice The code behind every EIP-1167 clone (BitGo-style forwarder): `flush` makes the factory's job.
contract DepositCloneWallet {
    using SafeERC20 for IERC20;

    /// @notice The factory that created this implementation: the only caller of `flush`.
    address private immutable factory;

    constructor() {
        factory = msg.sender;
    }

    /// @notice Makes the factory's transfers from the clone's address.
    function flush() external {
        require(msg.sender == factory);
        (address token, address[] memory recipients, uint256[] memory amounts, address remainderTo) =
            IDepositJob(msg.sender).depositJob();
        for (uint256 i; i < recipients.length; ++i) {
            if (amounts[i] == 0) continue;
            if (token == address(0)) {
                (bool ok,) = recipients[i].call{value: amounts[i]}("");
                require(ok);
            } else {
                IERC20(token).safeTransfer(recipients[i], amounts[i]);
            }
        }
        if (address(this).balance != 0) {
            (bool ok,) = remainderTo.call{value: address(this).balance}("");
            require(ok);
        }
    }

    receive() external payable {}
}

/// @notice SluiceDeposits with an EIP-1167 clone at each address, deployed at the first sweep and flushed.
contract SluiceDepositsClone is SluiceDeposits {
    /// @notice The clones' implementation.
    address public immutable wallet;

    /// @param o Owner. @param s Signer. @param r Relayer. @param m Max fee in basis points.
    constructor(address o, address s, address r, uint256 m) SluiceDeposits(o, s, r, m) {
        wallet = address(new DepositCloneWallet());
    }

    function _forward(bytes32 salt) internal override returns (bool ok) {
        address clone = Clones.predictDeterministicAddress(wallet, salt);
        if (clone.code.length == 0) Clones.cloneDeterministic(wallet, salt);
        try DepositCloneWallet(payable(clone)).flush() {
            return true;
        } catch {
            return false;
        }
    }

    function _depositAt(bytes32 salt) internal view override returns (address) {
        return Clones.predictDeterministicAddress(wallet, salt);
    }
}
