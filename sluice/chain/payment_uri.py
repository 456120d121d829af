"""EIP-681 URIs and QR codes for the checkout page.

EIP-681 (`ethereum:<address>@<chainId>/<function>?<abi type>=<value>&…`) can name a function and pass
it parameters of elementary ABI types only (`address`, `uint256`, …). A Sluice payment is
`pay(PaymentIntent intent, bytes signature)`: a struct, with a nested array of structs, that no
EIP-681 parameter can carry, so no wallet can be handed the payment itself through a URI. The two
URIs a wallet would accept are both wrong for Sluice: `ethereum:<merchant>?value=` or
`<token>/transfer?address=<merchant>` pays the merchant directly, outside the contract, with no
intent id on chain, so the payment could never be matched (and the fee split is skipped); a plain
value transfer to the payments contract reverts (it has no receive function).

What is correct and useful:
- the QR code of the hosted checkout page's URL: the payer scans it with a phone, opens the page in
  the wallet's browser (or over WalletConnect) and signs the transactions that
  `sluice.chain.transactions` builds;
- for ERC-20 assets, the EIP-681 URI of the first of those transactions,
  `ethereum:<token>@<chainId>/approve?address=<contract>&uint256=<amount>`, which wallets that
  implement EIP-681 calls (MetaMask Mobile among them) open as a ready approval; the pay itself still
  goes through the checkout page. `eip681_uri` returns it, and None for native coins, where no
  correct EIP-681 URI exists.
"""

from __future__ import annotations

import segno
from eth_utils import to_checksum_address

from sluice.chain.intents import ContractKind, PaymentIntent
from sluice.chain.registry import Asset, NetworkConfig
from sluice.errors import SluiceValueError


def eip681_uri(
    network: NetworkConfig, intent: PaymentIntent, asset: Asset, *, kind: ContractKind = "payments"
) -> str | None:
    """The EIP-681 URI of the approve step of an ERC-20 payment; None for the native coin (see above).

    Amounts are plain integers in base units: valid EIP-681 and parsed by every wallet, where the
    scientific notation the standard suggests (`25e6`) is not.
    """
    if asset.token.lower() != intent.token.lower():
        raise SluiceValueError(f"the intent pays token {intent.token}, not {asset.symbol} ({asset.token})")
    if asset.native or asset.address is None:
        return None
    spender = network.contract(kind)
    return (
        f"ethereum:{to_checksum_address(asset.address)}@{network.chain_id}/approve"
        f"?address={to_checksum_address(spender)}&uint256={intent.amount}"
    )


def qr_svg(text: str, *, scale: int = 4, border: int = 4) -> str:
    """An SVG QR code of `text` (a checkout URL or an EIP-681 URI), to inline in an HTML page."""
    qr = segno.make(text, error="m", micro=False)
    return str(qr.svg_inline(scale=scale, border=border))
