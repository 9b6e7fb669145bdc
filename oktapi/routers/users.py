"""User administration, for admins only."""

from fastapi import APIRouter

from oktapi.deps import AdminPrincipal, DbDep, PageDep
from oktapi.models.users import UserCreate, UserPublic, UserUpdate
from oktapi.services import users as user_service

router = APIRouter(prefix="/users", tags=["users"])


@router.post("", status_code=201)
def create_user(body: UserCreate, admin: AdminPrincipal, db: DbDep) -> UserPublic:
    return UserPublic.from_doc(user_service.create_user(db=db, actor=admin, body=body))


@router.get("")
def list_users(admin: AdminPrincipal, db: DbDep, page: PageDep) -> list[UserPublic]:
    return [UserPublic.from_doc(user) for user in user_service.list_users(db=db, page=page)]


@router.get("/{user_id}")
def read_user(user_id: str, admin: AdminPrincipal, db: DbDep) -> UserPublic:
    return UserPublic.from_doc(user_service.get_user(db=db, user_id=user_id))


@router.patch("/{user_id}")
def update_user(user_id: str, body: UserUpdate, admin: AdminPrincipal, db: DbDep) -> UserPublic:
    return UserPublic.from_doc(
        user_service.update_user(db=db, actor=admin, user_id=user_id, body=body)
    )


@router.delete("/{user_id}", status_code=204)
def delete_user(user_id: str, admin: AdminPrincipal, db: DbDep) -> None:
    user_service.delete_user(db=db, actor=admin, user_id=user_id)
