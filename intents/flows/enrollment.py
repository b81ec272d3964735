"""/registro CODE (become a comuna's municipal contact) and /codigo CUT (officers issue codes)."""

from __future__ import annotations

from datetime import timedelta

from intents.commands import EVERYONE, CommandSpec, Line, NextStep
from intents.context import Context
from intents.errors import InvalidInput, NotAllowed
from intents.i18n import N_
from intents.messages import Reply
from intents.roles import ADMIN, MIGRANT, MUNICIPAL, OFFICER, require
from intents.router import Flow
from storage import attempts, codes, directory

MAX_WRONG = 5
WRONG_WINDOW = timedelta(minutes=15)


async def register(ctx: Context) -> list[Reply]:
    t = ctx.t
    user = ctx.user
    if user.role in (OFFICER, ADMIN):
        raise NotAllowed(t._("Tu perfil de SERMIG no se puede registrar como contacto municipal."))
    code_text = ctx.args.strip()
    if not code_text:
        raise InvalidInput(
            t._("Escribe el código después del comando, por ejemplo: /registro K7P2QX9M")
        )
    since = ctx.now - WRONG_WINDOW
    if await attempts.count_since(ctx.session, user.id, "enroll", since) >= MAX_WRONG:
        raise InvalidInput(
            t._(
                "Demasiados intentos con códigos equivocados. Espera 15 minutos e inténtalo de nuevo."
            )
        )
    code = await codes.find(ctx.session, code_text)
    problem = None
    if code is None:
        problem = t._("Ese código no existe. Revisa que esté bien escrito.")
    elif code.used_at is not None:
        problem = t._("Ese código ya fue usado. Pide uno nuevo a tu encargada/o regional.")
    elif code.expires_at < ctx.now:
        problem = t._("Ese código venció (duran 7 días). Pide uno nuevo a tu encargada/o regional.")
    if problem is not None or code is None:
        await attempts.record(ctx.session, user.id, "enroll", ctx.now)
        return [Reply(problem or "")]
    comuna = await directory.known_comuna(ctx.session, code.comuna_cut)
    code.used_by = user.id
    code.used_at = ctx.now
    user.role = MUNICIPAL
    user.comuna_cut = comuna.cut
    user.region_code = comuna.region_code
    return [
        Reply(
            t._(
                "Listo: quedaste registrada/o como contacto municipal de {comuna}. Ahora puedes "
                "abrir casos con /caso, verlos con /miscasos y escribir a tu encargada/o "
                "regional con /encargado."
            ).format(comuna=comuna.name)
        )
    ]


async def issue_code(ctx: Context) -> list[Reply]:
    require(ctx, OFFICER)
    t = ctx.t
    cut = ctx.args.strip()
    if not cut:
        raise InvalidInput(t._("Escribe el código CUT de la comuna, por ejemplo: /codigo 13110"))
    plain = cut.isascii() and cut.isdigit() and len(cut) <= 5
    comuna = await directory.comuna(ctx.session, cut.zfill(5)) if plain else None
    if comuna is None:
        raise InvalidInput(t._("No encuentro una comuna con el código {cut}.").format(cut=cut[:10]))
    if ctx.user.role != ADMIN and comuna.region_code != ctx.user.region_code:
        raise NotAllowed(t._("Solo puedes emitir códigos para comunas de tu región."))
    code = await codes.issue(ctx.session, comuna.cut, ctx.now, created_by=ctx.user.id)
    return [
        Reply(
            t._(
                "Código de registro para {comuna}: {code}\nVence el {date}. Sirve una sola vez: "
                "la persona encargada de migración de la municipalidad debe escribir "
                "/registro {code}"
            ).format(comuna=comuna.name, code=code.code, date=t.date(code.expires_at))
        )
    ]


FLOW = Flow(
    name="enrollment",
    commands=(
        CommandSpec(
            "registro",
            register,
            roles=EVERYONE,  # SERMIG staff are told why they cannot
            help=Line(N_("/registro CÓDIGO – registrarte como contacto municipal"), 70),
            words={"en": ("register",), "ht": ("enskri",)},
            takes_argument=True,
            menu=Line(N_("Registrarte como contacto municipal"), 50),
            next_step=NextStep(N_("Registro municipal"), offered_to=frozenset({MIGRANT})),
        ),
        CommandSpec(
            "codigo",
            issue_code,
            roles={OFFICER},
            help=Line(N_("/codigo COMUNA – código de registro para una comuna"), 30),
            words={"en": ("code",), "fr": ("code",)},
            takes_argument=True,
        ),
    ),
)
