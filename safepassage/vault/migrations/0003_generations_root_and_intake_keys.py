# Organisation keys get generations (for `vault rotate`), wraps point at the key that wraps them, the vault gets
# a root key, and organisations an intake key pair. Keys made before this migration were for tests only, so the
# key tables are made anew rather than converted.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("vault", "0002_organisation_and_data_keys"),
    ]

    operations = [
        migrations.DeleteModel(name="DataKeyWrap"),
        migrations.DeleteModel(name="OrganisationKey"),
        migrations.CreateModel(
            name="OrganisationKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("generation", models.PositiveIntegerField()),
                ("wrapped", models.BinaryField()),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="accounts.organisation"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("organisation", "generation"), name="organisationkey_one_per_generation"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="DataKeyWrap",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("wrapped", models.BinaryField()),
                (
                    "data_key",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="wraps", to="vault.datakey"
                    ),
                ),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="accounts.organisation"
                    ),
                ),
                (
                    "organisation_key",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="vault.organisationkey"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("data_key", "organisation_key"), name="datakeywrap_one_per_organisation_key"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="IntakeKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("public_key", models.BinaryField()),
                ("private_wrapped", models.BinaryField()),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "organisation",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="accounts.organisation"
                    ),
                ),
                (
                    "organisation_key",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="vault.organisationkey"
                    ),
                ),
            ],
        ),
        migrations.AddField(model_name="vaultstate", name="generation", field=models.PositiveIntegerField(default=1)),
        migrations.AddField(model_name="vaultstate", name="root_wrapped", field=models.BinaryField(default=b"")),
        migrations.AddField(
            model_name="vaultstate", name="next_key_check", field=models.CharField(blank=True, max_length=64)
        ),
        migrations.AddField(
            model_name="vaultstate", name="next_identifier", field=models.PositiveIntegerField(default=0)
        ),
        migrations.AddField(
            model_name="vaultstate", name="next_threshold", field=models.PositiveSmallIntegerField(default=0)
        ),
        migrations.AddField(
            model_name="vaultstate", name="next_share_count", field=models.PositiveSmallIntegerField(default=0)
        ),
        migrations.AddField(
            model_name="vaultstate", name="shares_pending", field=models.BooleanField(default=False)
        ),
    ]
